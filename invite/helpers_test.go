package invite_test

import (
	"github.com/invitekit/invitekit/invite/internal/invitetest"
	"github.com/invitekit/invitekit/invite/inviteapi"
)

// The shared fixtures (package invitetest) under the names these tests use.
type (
	env       = invitetest.Env
	snapshot  = invitetest.Snapshot
	storeCase = invitetest.StoreCase
	rowSource = invitetest.RowSource
)

var (
	testKey          = invitetest.TestKey
	newEnv           = invitetest.NewEnv
	newClock         = invitetest.NewClock
	forEachStore     = invitetest.ForEachStore
	storeCases       = invitetest.StoreCases
	openMem          = invitetest.OpenMem
	openSQLite       = invitetest.OpenSQLite
	verified         = invitetest.Verified
	takeSnapshot     = invitetest.TakeSnapshot
	assertUnchanged  = invitetest.AssertUnchanged
	assertFieldError = invitetest.AssertFieldError
	openLink         = invitetest.OpenLink
	openPGBulk       = invitetest.OpenPostgres
	checkSummary     = invitetest.CheckSummary
)

const acceptURL = invitetest.AcceptURL

// describe is how the kit's HTTP surfaces render err.
func describe(err error) (status int, code, field, message string) {
	p := inviteapi.ProblemOf(err)
	return p.Status, p.Code, p.Field, p.Message
}

// errorCode is the code and field the kit's HTTP surfaces render err with.
func errorCode(err error) (code, field string) {
	p := inviteapi.ProblemOf(err)
	return p.Code, p.Field
}
