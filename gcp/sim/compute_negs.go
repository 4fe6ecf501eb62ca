package sim

import (
	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/proto"

	"github.com/beyond-lab/beyond/lab"
)

// negKind is the regional network endpoint groups. Only serverless ones are
// simulated: the lab puts one Cloud Run service per region behind each.
var negKind = &computeKind{
	scope:      "regions/{region}",
	collection: "networkEndpointGroups",
	discovery:  "regionNetworkEndpointGroups",
	kind:       "compute#networkEndpointGroup",
	label:      "network_endpoint_group",
	param:      "networkEndpointGroup",
	newMsg:     func() proto.Message { return &computepb.NetworkEndpointGroup{} },
	prepare:    prepareNEG,
}

func prepareNEG(a *computeAPI, c *computeReq, r, old proto.Message) *computeError {
	neg := r.(*computepb.NetworkEndpointGroup)
	if t := neg.GetNetworkEndpointType(); t != "SERVERLESS" {
		if t == "" {
			t = "GCE_VM_IP_PORT" // Google's default, which a regional group cannot have
		}
		return computeInvalid("resource.networkEndpointType", t, "Regional network endpoint groups of this type are not supported: the simulator supports only SERVERLESS ones.")
	}
	n := 0
	for _, set := range []bool{neg.CloudRun != nil, neg.AppEngine != nil, neg.CloudFunction != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return computeInvalid("resource", "", "A serverless network endpoint group must specify exactly one of cloudRun, appEngine or cloudFunction.")
	}
	if run := neg.CloudRun; run != nil {
		if run.GetService() == "" && run.GetUrlMask() == "" {
			return computeInvalid("resource.cloudRun", "", "A Cloud Run network endpoint group must specify a service or a URL mask.")
		}
		if s := run.GetService(); s != "" && !lab.ComputeName.Valid(s) {
			return computeInvalid("resource.cloudRun.service", s, "Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'")
		}
	}
	if neg.GetNetwork() != "" || neg.GetSubnetwork() != "" || neg.GetDefaultPort() != 0 {
		return computeInvalid("resource.network", neg.GetNetwork(), "A serverless network endpoint group cannot have a network, a subnetwork or a default port.")
	}
	neg.Size = proto.Int32(0)
	return nil
}
