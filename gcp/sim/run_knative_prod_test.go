package sim

import (
	"testing"

	"cloud.google.com/go/run/apiv2/runpb"
	"github.com/beyond-lab/beyond/lab"
)

// TestKnativeProductionAnnotations: the annotations gcloud beta writes for
// the production part (--no-default-url writes Python's "True", --max the
// service-level maxScale) are the v2 fields, both ways.
func TestKnativeProductionAnnotations(t *testing.T) {
	kn := &knService{APIVersion: knServingAPI, Kind: "Service"}
	kn.Metadata.Annotations = map[string]string{
		knAnnIngress:    "internal-and-cloud-load-balancing",
		knAnnDefaultURL: "True",
		knAnnServiceMax: "5",
	}
	kn.Spec.Template = &knTemplate{Spec: knRevisionSpec{Containers: []knContainer{{Image: lab.HelloImage}}}}
	svc, err := runServiceFromKn(kn)
	if err != nil {
		t.Fatal(err)
	}
	if svc.GetIngress() != runpb.IngressTraffic_INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER || !svc.GetDefaultUriDisabled() || svc.GetScaling().GetMaxInstanceCount() != 5 {
		t.Errorf("v2 service: ingress %s, defaultUriDisabled %v, scaling %v", svc.GetIngress(), svc.GetDefaultUriDisabled(), svc.GetScaling())
	}
	svc.Name = "projects/p/locations/us-central1/services/s"
	back := knServiceOf(svc, 123)
	if a := back.Metadata.Annotations; a[knAnnDefaultURL] != "true" || a[knAnnServiceMax] != "5" || a[knAnnIngress] != "internal-and-cloud-load-balancing" {
		t.Errorf("v1 annotations %v", a)
	}
	kn.Metadata.Annotations[knAnnServiceMax] = "none"
	if _, err := runServiceFromKn(kn); err == nil {
		t.Error("maxScale \"none\" accepted")
	}
}
