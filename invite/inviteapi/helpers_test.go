package inviteapi_test

import "github.com/invitekit/invitekit/invite/internal/invitetest"

// The shared fixtures (package invitetest) under the names these tests use.
type (
	env       = invitetest.Env
	rowSource = invitetest.RowSource
)

var (
	newEnv          = invitetest.NewEnv
	forEachStore    = invitetest.ForEachStore
	openSQLite      = invitetest.OpenSQLite
	verified        = invitetest.Verified
	takeSnapshot    = invitetest.TakeSnapshot
	assertUnchanged = invitetest.AssertUnchanged
	checkSummary    = invitetest.CheckSummary
)

const acceptURL = invitetest.AcceptURL
