package reconciler

import (
	"context"
	"fmt"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/reconciler/decide"
)

// batchOf turns a decision's typed changes into store operations: the one
// place where decisions become writes. The batch is committed fenced by the
// leader's term.
func batchOf(changes []decide.Change, branch string) (*cluster.Batch, error) {
	b := &cluster.Batch{}
	for _, c := range changes {
		switch c := c.(type) {
		case decide.StartTask:
			b.PutAssignment(c.Assignment)
		case decide.KillTask:
			b.PutAssignment(c.Assignment)
		case decide.ForgetTask:
			b.DeleteAssignment(c.AgentID, c.TaskID, cluster.AnyVersion)
			b.DeleteStatus(c.AgentID, c.TaskID)
		case decide.HoldServicePort:
			b.PutServicePort(c.Port)
		case decide.ReleaseServicePort:
			b.DeleteServicePort(c.Port)
		case decide.PublishTemplate:
			b.PutTemplate(c.Template)
		case decide.WithdrawTemplate:
			b.DeleteTemplate(c.ID)
		case decide.RecordJobRun:
			b.PutJobRun(c.Run)
		case decide.DropJobRun:
			b.DeleteJobRun(c.Job, c.RunID)
		case decide.SaveJobState:
			b.PutJobState(c.State)
		case decide.DropJobState:
			b.DeleteJobState(c.Job)
		case decide.RememberLaunches:
			b.PutLaunches(c.Launches)
		case decide.ForgetLaunches:
			b.DeleteLaunches(c.AppID)
		case decide.RememberResidence:
			b.PutResidence(c.Residence)
		case decide.ForgetResidence:
			b.DeleteResidence(c.AppID)
		case decide.MarkAgentLost:
			b.PutAgentLost(c.Lost)
		case decide.ClearAgentLost:
			b.DeleteAgentLost(c.AgentID)
		case decide.SaveDeployment:
			b.PutDeployment(c.Deployment)
		case decide.EndDeployment:
			b.DeleteDeployment(c.ID)
		case decide.SetAppliedCommit:
			b.SetAppliedCommit(cluster.AppliedCommit{Commit: c.Commit, Branch: branch, AppliedAt: c.AppliedAt})
		default:
			return nil, fmt.Errorf("no store operation for change %T", c)
		}
	}
	return b, nil
}

// CommitChanges writes a decision's changes to the cluster state fenced by
// lead, in as few transactions as fit; what the reconcile loop does with
// every decision.
func CommitChanges(ctx context.Context, st *cluster.State, lead cluster.Leadership, changes []decide.Change, branch string) error {
	b, err := batchOf(changes, branch)
	if err != nil {
		return err
	}
	if b.Len() == 0 {
		return nil
	}
	if _, err := st.Commit(ctx, lead, b); err != nil {
		return fmt.Errorf("commit %d changes: %w", len(changes), err)
	}
	return nil
}
