package invite_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/store/memstore"
)

func ExampleService_BulkInvite() {
	ctx := context.Background()
	svc, err := invite.New(memstore.New(), invite.Config{
		SecretKey: []byte("0123456789abcdef0123456789abcdef"),
		AcceptURL: "https://app.example.com/invite/accept",
	})
	if err != nil {
		panic(err)
	}
	if _, _, err := svc.CreateOrganization(ctx, invite.CreateOrganizationRequest{ID: "org_acme", Name: "Acme"}); err != nil {
		panic(err)
	}
	csv := "email,first_name,last_name,roles,metadata.team\n" +
		"ann@example.com,Ann,Lee,admin;member,blue\n" +
		"not-an-email,Bad,Row,,\n" +
		"bob@example.com,Bob,,owner,\n" +
		"ANN@example.com,Ann,Again,,\n"

	// Preview first: nothing is written.
	preview, err := svc.BulkInvite(ctx, "org_acme", strings.NewReader(csv), invite.BulkOptions{DryRun: true})
	if err != nil {
		panic(err)
	}
	fmt.Printf("preview: %+v\n", preview.Summary)

	// Then import; each invitation mail is queued in the outbox.
	report, err := svc.BulkInvite(ctx, "org_acme", strings.NewReader(csv), invite.BulkOptions{ActorID: "usr_admin"})
	if err != nil {
		panic(err)
	}
	defer report.Close() // removes the results' spool file, if it needed one
	// The results are streamed from the report's spool, in row order.
	for r, err := range report.Results() {
		if err != nil {
			panic(err)
		}
		fmt.Println(strings.TrimSpace(fmt.Sprintln(r.Row, r.Email, r.Status, r.Field, r.Reason)))
		if r.Row == 1 {
			fmt.Println("user created:", strings.HasPrefix(r.UserID, "usr_"))
		}
	}

	// The results as CSV (or WriteJSON), e.g. for a download.
	var out strings.Builder
	if err := report.WriteCSV(&out); err != nil {
		panic(err)
	}
	lines := strings.Split(out.String(), "\n")
	fmt.Println(lines[0])
	fmt.Println(lines[3])
	// Output:
	// preview: {Rows:4 Created:1 AlreadyMember:0 Invalid:2 Refused:0 DuplicateInFile:1 Failed:0 Held:0}
	// 1 ann@example.com created
	// user created: true
	// 2 not-an-email invalid email email must contain an @
	// 3 bob@example.com invalid roles unknown role "owner"
	// 4 ann@example.com duplicate_in_file email duplicate in file: row 1 has the same email
	// row,line,email,status,membership_status,user_id,code,field,reason
	// 3,4,bob@example.com,invalid,,,invalid_argument,roles,"unknown role ""owner"""
}
