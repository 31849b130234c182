package webhooks

import (
	"context"
	"errors"
	"time"

	"github.com/invitekit/invitekit/store"
)

// Payload is the JSON body of every webhook and of every entry of the
// events feed (version store.WebhookPayloadVersion).
type Payload struct {
	Type      string    `json:"type"`      // a webhook event type: "membership.activated", …
	Timestamp time.Time `json:"timestamp"` // when the change happened
	Version   int       `json:"version"`   // the payload version, 1
	Data      Data      `json:"data"`
}

// Data is a payload's subject: the event and the organization's view of
// the member it is about.
type Data struct {
	EventID        string            `json:"eventId"`
	Seq            int64             `json:"seq"` // the organization feed's cursor
	OrganizationID string            `json:"organizationId"`
	UserID         string            `json:"userId,omitempty"`
	ActorID        string            `json:"actorId,omitempty"`
	Details        map[string]string `json:"details,omitempty"` // the event's own non-secret details
	// Membership is the organization's view of the member when the
	// payload was built (at delivery), nil once the membership is gone.
	Membership *MemberView `json:"membership,omitempty"`
}

// MemberView is what one organization knows about a member: never the
// shared user's fields.
type MemberView struct {
	Status       string            `json:"status"`
	Roles        []string          `json:"roles"`
	ExternalID   string            `json:"externalId,omitempty"`
	Profile      ProfileView       `json:"profile"`
	UserMetadata map[string]string `json:"userMetadata,omitempty"`
	Metadata     map[string]string `json:"metadata,omitempty"`
	JoinTime     time.Time         `json:"joinTime"`
	LastLogin    *time.Time        `json:"lastLogin,omitempty"`
}

// ProfileView is the profile the organization keeps of the member, with
// the JSON API's field names.
type ProfileView struct {
	FirstName        string            `json:"firstName"`
	LastName         string            `json:"lastName"`
	Name             string            `json:"name"`
	Locale           string            `json:"locale"`
	PhoneNumber      string            `json:"phoneNumber"`
	Metadata         map[string]string `json:"metadata"`
	CustomAttributes map[string]string `json:"customAttributes"`
}

// BuildPayload builds the payload of webhook type typ of ev, with the
// organization's current view of ev.UserID (read from st).
func BuildPayload(ctx context.Context, st store.Memberships, typ string, ev store.Event, now time.Time) (Payload, error) {
	p := Payload{Type: typ, Timestamp: ev.CreateTime.UTC(), Version: store.WebhookPayloadVersion, Data: Data{
		EventID: ev.ID, Seq: ev.Seq, OrganizationID: ev.OrganizationID, UserID: ev.UserID, ActorID: ev.ActorID, Details: ev.Data,
	}}
	if ev.UserID == "" || ev.OrganizationID == "" {
		return p, nil
	}
	m, err := st.GetMembership(ctx, ev.OrganizationID, ev.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return p, nil
	}
	if err != nil {
		return p, err
	}
	p.Data.Membership = &MemberView{
		Status: string(m.EffectiveStatus(now)), Roles: m.Roles, ExternalID: m.ExternalID, Profile: ProfileView(m.Profile),
		UserMetadata: m.UserMetadata, Metadata: m.Metadata, JoinTime: m.JoinTime.UTC(), LastLogin: m.LastLogin,
	}
	if p.Data.Membership.Roles == nil {
		p.Data.Membership.Roles = []string{}
	}
	return p, nil
}
