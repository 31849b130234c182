package invite

import (
	"fmt"

	"github.com/invitekit/invitekit/store"
)

// NoActiveMembershipError is the ErrNoMembership of SignIn for a person
// the kit knows who has memberships, none of them ACTIVE: Pending counts
// invitations not accepted yet (or expired), Inactive deactivated
// memberships. Pages use it to say the right thing ("open your
// invitation", "your membership was deactivated") rather than "ask for an
// invitation". errors.Is(err, ErrNoMembership) holds.
type NoActiveMembershipError struct {
	Pending, Inactive int
}

func (e *NoActiveMembershipError) Error() string {
	return fmt.Sprintf("%v (%d pending, %d inactive)", ErrNoMembership, e.Pending, e.Inactive)
}

func (e *NoActiveMembershipError) Unwrap() error { return ErrNoMembership }

// noActiveMembership is SignIn's error when all holds no ACTIVE
// membership: plain ErrNoMembership when all is empty.
func noActiveMembership(all []store.Membership) error {
	e := &NoActiveMembershipError{}
	for _, m := range all {
		switch m.Status {
		case store.StatusInactive:
			e.Inactive++
		case store.StatusActive:
		default:
			e.Pending++
		}
	}
	if e.Pending == 0 && e.Inactive == 0 {
		return ErrNoMembership
	}
	return e
}
