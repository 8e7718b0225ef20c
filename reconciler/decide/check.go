package decide

import (
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/manifests"
)

// checkSpec resolves an app's Mesos check for the agent, or nil.
func checkSpec(app *manifests.App) *cluster.CheckSpec {
	c := app.Check
	if c == nil {
		return nil
	}
	s := &cluster.CheckSpec{
		Interval: time.Duration(c.IntervalSeconds) * time.Second,
		Timeout:  time.Duration(c.TimeoutSeconds) * time.Second,
		Delay:    time.Duration(c.DelaySeconds) * time.Second,
	}
	switch {
	case c.HTTP != nil:
		s.Protocol, s.Path, s.PortIndex, s.Port = c.HTTP.Scheme, c.HTTP.Path, c.HTTP.PortIndex, c.HTTP.Port
	case c.TCP != nil:
		s.Protocol, s.PortIndex, s.Port = "TCP", c.TCP.PortIndex, c.TCP.Port
	case c.Exec != nil:
		s.Protocol, s.Command = "COMMAND", c.Exec.Command.CommandLine()
	default:
		return nil // validation refuses a check of no kind
	}
	return s
}
