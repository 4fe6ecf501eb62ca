package steps

import (
	"fmt"
	"strings"

	"github.com/beyond-lab/beyond/gcp"
)

// CommandFor renders step id's command as the runner would, without calling
// the cloud: for `beyond show`, which prints it for a second terminal.
// outputs are those saved with the learner's progress (the global IP, the
// image the lab pushed), so the command names what the learner built.
func CommandFor(id string, cloud *gcp.Cloud, vars Vars, outputs Outputs) (string, error) {
	var ids []string
	for _, s := range Lab() {
		ids = append(ids, s.ID)
		if s.ID != id {
			continue
		}
		if s.Command == nil {
			return "", fmt.Errorf("step %q has no command to type: the lab does it itself (run it in the guide with enter)", id)
		}
		sess := &Session{Cloud: cloud, Vars: vars, Outputs: outputs, Probe: DefaultProbe()}
		return s.Command(sess), nil
	}
	return "", fmt.Errorf("the lab has no step %q; its steps are: %s", id, strings.Join(ids, ", "))
}
