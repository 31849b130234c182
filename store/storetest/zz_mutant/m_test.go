package zz_mutant
import ("testing"; "github.com/invitekit/invitekit/store"; "github.com/invitekit/invitekit/store/storetest")
func TestConformance(t *testing.T) { storetest.Run(t, func(t *testing.T) store.Store { return New() }) }
