package e2e

import (
	"context"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// AcceptDialogs answers every JavaScript dialog of tab (alert, confirm,
// prompt) with OK until tab is done, as a user confirming "Are you sure?"
// would. Call it before the action that opens a dialog: a dialog blocks
// the page, and the action, until it is answered. seen, when not nil,
// receives each dialog's message (it must not block for long).
func AcceptDialogs(tab context.Context, seen func(message string)) {
	dialogs := chromedp.Events(tab, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			if seen != nil {
				seen(ev.Message)
			}
			if _, err := chromedp.Call(tab, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true}); err != nil {
				return
			}
		}
	}()
}
