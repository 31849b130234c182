package pages

import (
	"fmt"
	"sort"
)

// T is the text of key in lang (English when lang is not one of Langs).
// A key missing from the catalog renders as the key itself; the package's
// tests make sure every key exists in every language, so that never
// reaches a person.
func T(lang, key string) string {
	if m, ok := catalog[supported(lang)]; ok {
		if s, ok := m[key]; ok {
			return s
		}
	}
	if s, ok := catalog[DefaultLang][key]; ok {
		return s
	}
	return key
}

// Tf is T formatted with args (fmt verbs in the text).
func Tf(lang, key string, args ...any) string { return fmt.Sprintf(T(lang, key), args...) }

// Keys are the catalog's keys in lang, sorted.
func Keys(lang string) []string {
	var out []string
	for k := range catalog[lang] {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Has reports whether key exists in lang.
func Has(lang, key string) bool { _, ok := catalog[lang][key]; return ok }

var catalog = map[string]map[string]string{"en": merge(en, teamEN, directoryEN, ssoEN, joinEN, apprEN), "de": merge(de, teamDE, directoryDE, ssoDE, joinDE, apprDE)}

// merge joins a language's catalog parts (the pages' own words, the team
// page's). A key in two parts is kept from the first; the package's tests
// make sure no key is.
func merge(parts ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, p := range parts {
		for k, v := range p {
			if _, dup := out[k]; !dup {
				out[k] = v
			}
		}
	}
	return out
}

var en = map[string]string{
	// next steps
	"step.home":          "Go to the home page",
	"step.signin":        "Sign in",
	"step.signout":       "Sign out",
	"step.signout_other": "Sign out and use another account",
	"step.orgs":          "Switch organization",
	"step.retry":         "Try again",
	"step.restart":       "Start signing in again",
	"step.new_invite":    "Ask for a new invitation",
	"refusal.code":       "Error code",
	"refusal.next":       "What you can do",

	// refusals by code
	"unauthenticated.title":      "Please sign in",
	"unauthenticated.body":       "This page is only for signed-in members.",
	"not_member.title":           "Not a member of this organization",
	"not_member.body":            "You are signed in, but you are not a member of this organization. If you belong to another organization, switch to it; if you should be here, ask one of its administrators to invite you.",
	"invitation_pending.title":   "Your invitation is waiting",
	"invitation_pending.body":    "You have been invited to this organization but have not accepted yet. Open the invitation link in the mail you received and choose Join. If the link has expired, ask the administrators for a new invitation.",
	"membership_inactive.title":  "Your membership is deactivated",
	"membership_inactive.body":   "An administrator deactivated your membership in this organization. Ask one of its administrators to reactivate it, or switch to another organization.",
	"missing_role.title":         "You cannot open this page",
	"missing_role.body":          "You do not have the role this page needs in this organization. Ask an administrator if you need it.",
	"permission_denied.title":    "Not allowed",
	"permission_denied.body":     "You are not allowed to do this here. Ask an administrator of the organization if you need to.",
	"no_organization.title":      "No organization chosen",
	"no_organization.body":       "This address does not name an organization. Choose one of yours.",
	"not_found.title":            "Not found",
	"not_found.body":             "There is nothing at this address. It may have been removed, or the link is incomplete.",
	"invitation_required.title":  "An invitation is needed",
	"invitation_required.body":   "This app is invitation-only, and the account you signed in with has no membership. Ask an administrator of your organization for an invitation, or sign out and sign in with the account you were invited with.",
	"invalid_token.title":        "Invitation link not valid",
	"invalid_token.body":         "This invitation link is not valid. Check that you opened the whole link from the mail; if it still fails, ask the person who invited you for a new invitation.",
	"missing_token.title":        "Invitation link incomplete",
	"missing_token.body":         "This invitation link is incomplete: it has no token. Open the whole link from the invitation mail.",
	"invite_expired.title":       "Invitation expired",
	"invite_expired.body":        "This invitation has expired. Ask for a new one and you will get a fresh link by mail.",
	"invite_revoked.title":       "Invitation withdrawn",
	"invite_revoked.body":        "An administrator withdrew this invitation, so it cannot be used. If you still want to join, ask them for a new invitation.",
	"invite_used.title":          "Invitation already used",
	"invite_used.body":           "This invitation has already been accepted. If that was you, you are a member: go to the app. If it was not you, tell the administrator who invited you.",
	"email_mismatch.title":       "Wrong account",
	"email_mismatch.body":        "You signed in with a different email address than the one the invitation was sent to. Sign out, then sign in with the invited address.",
	"email_not_verified.title":   "Email address not verified",
	"email_not_verified.body":    "Your sign-in provider has not verified your email address. Verify it there, then sign in again.",
	"identity_taken.title":       "Sign-in belongs to someone else",
	"identity_taken.body":        "This sign-in account is already linked to another person here. Sign out and use your own account.",
	"identity_bound.title":       "Another sign-in is linked",
	"identity_bound.body":        "Your account here is already linked to a different sign-in at this provider. Sign out and sign in with the account you used before.",
	"email_link_untrusted.title": "Sign in the way you did before",
	"email_link_untrusted.body":  "This sign-in provider is not trusted to connect a new sign-in to an existing account by email address. Sign in the way you did before, or ask an administrator.",
	"access_denied.title":        "Sign-in was refused",
	"access_denied.body":         "The sign-in provider did not let you sign in. You can start again, or sign in with another account.",
	"provider_error.title":       "Sign-in was not completed",
	"provider_error.body":        "The sign-in provider reported a problem and did not complete the sign-in. Start again.",
	"provider_unavailable.title": "Sign-in is unavailable for a moment",
	"provider_unavailable.body":  "The sign-in provider cannot be reached right now. Nothing is lost: try again in a minute.",
	"provider_invalid.title":     "The sign-in provider answered wrongly",
	"provider_invalid.body":      "The sign-in provider answered, but its answer could not be used, so you are not signed in. Start again; if it happens again, tell the app's administrators.",
	"login_expired.title":        "Sign-in took too long",
	"login_expired.body":         "The sign-in took too long and was stopped for your safety. Start again.",
	"login_not_started.title":    "Sign-in not started here",
	"login_not_started.body":     "This sign-in was not started in this browser (or its cookies were cleared). Start again.",
	"rate_limited.title":         "Too many attempts",
	"rate_limited.body":          "There were too many attempts in a short time. Wait a minute, then try again.",
	"session_unavailable.title":  "This page is not set up",
	"session_unavailable.body":   "The app is not set up to keep you signed in on this page. Tell the app's administrators.",
	"unavailable.title":          "Unavailable for a moment",
	"unavailable.body":           "The service is unavailable for a moment. Nothing was lost: try again in a minute.",
	"internal.title":             "Something went wrong",
	"internal.body":              "Something went wrong on our side. Nothing was changed; try again in a moment.",
	"generic4.title":             "Request refused",
	"generic4.body":              "This request could not be carried out.",
	"generic5.title":             "Something went wrong",
	"generic5.body":              "Something went wrong on our side. Try again in a moment.",

	// the app's own pages
	"signed_out.title": "You are signed out",
	"signed_out.body":  "You have been signed out of this app.",
	"orgs.title":       "My organizations",
	"orgs.lead":        "You are a member of these organizations. Choose the one to work in.",
	"orgs.empty":       "You are not an active member of any organization yet.",
	"orgs.current":     "Current",
	"orgs.switch":      "Switch to %s",
	"orgs.open":        "Open %s",

	// the development provider
	"dev.note":          "Development sign-in: not for production.",
	"dev.title":         "Sign in to %s",
	"dev.lead":          "This is the development sign-in provider. Any email address works; every account's password is %s.",
	"dev.email":         "Email address",
	"dev.password":      "Password",
	"dev.password_hint": "The password is %s.",
	"dev.submit":        "Sign in",
	"dev.wrong":         "That did not work: the password is %s and the email address needs an @.",
	"dev.signed_out":    "You are signed out of the development provider.",
	"dev.back":          "Back to %s",

	// the dev inbox
	"inbox.note":      "Development inbox: these mails were NOT sent. Never expose this page in production: it shows accept links.",
	"inbox.title":     "Development inbox",
	"inbox.empty":     "No mail yet.",
	"inbox.from":      "From",
	"inbox.to":        "To",
	"inbox.time":      "Time",
	"inbox.links":     "Links:",
	"inbox.text_part": "Text part",
	"inbox.html_part": "HTML part",

	// authflow's pages
	"accept.title":               "Join %s",
	"accept.invited_by":          "%s invited you to join %s.",
	"accept.invited":             "You are invited to join %s.",
	"accept.org":                 "Organization",
	"accept.inviter":             "Invited by",
	"accept.for":                 "Invitation for",
	"accept.valid_until":         "Valid until",
	"accept.continue":            "Next, you sign in with %s.",
	"accept.other":               "Use a different account? You can join with the account you sign in with, even if its email address differs; the administrators will see which address you used.",
	"accept.join_signed_in":      "Join with the account I sign in with",
	"logout.title":               "Sign out",
	"logout.question":            "Sign out of this app?",
	"logout.question_idp":        "Sign out of this app and of your sign-in provider?",
	"message.detail":             "The sign-in service said:",
	"message.new_invite":         "You can ask the administrators to send you a new invitation.",
	"message.new_invite_org":     "You can ask the administrators of %s to send you a new invitation.",
	"requested.title":            "New invitation requested",
	"requested.body":             "We asked the administrators to send you a new invitation. It will arrive by email.",
	"refusal.field":              "field",
	"signin_pending.title":       "Accept your invitation first",
	"signin_pending.body":        "You have been invited, but you have not accepted the invitation yet. Open the invitation link in the mail you received and choose Join. If the link has expired, the page it opens lets you ask for a new one.",
	"signin_inactive.title":      "Your membership is deactivated",
	"signin_inactive.body":       "You signed in, but your membership has been deactivated. Ask an administrator of your organization to reactivate it.",
	"provider_unreachable.title": "The sign-in provider could not be reached",
	"provider_unreachable.body":  "The sign-in provider could not be reached to finish signing in. Start again in a moment.",
}

var de = map[string]string{
	"step.home":          "Zur Startseite",
	"step.signin":        "Anmelden",
	"step.signout":       "Abmelden",
	"step.signout_other": "Abmelden und anderes Konto verwenden",
	"step.orgs":          "Organisation wechseln",
	"step.retry":         "Erneut versuchen",
	"step.restart":       "Anmeldung neu beginnen",
	"step.new_invite":    "Neue Einladung anfordern",
	"refusal.code":       "Fehlercode",
	"refusal.next":       "Was Sie tun können",

	"unauthenticated.title":      "Bitte melden Sie sich an",
	"unauthenticated.body":       "Diese Seite ist nur für angemeldete Mitglieder.",
	"not_member.title":           "Kein Mitglied dieser Organisation",
	"not_member.body":            "Sie sind angemeldet, aber kein Mitglied dieser Organisation. Gehören Sie zu einer anderen Organisation, wechseln Sie dorthin; sollten Sie hier Mitglied sein, bitten Sie eine Administratorin oder einen Administrator um eine Einladung.",
	"invitation_pending.title":   "Ihre Einladung wartet",
	"invitation_pending.body":    "Sie wurden in diese Organisation eingeladen, haben die Einladung aber noch nicht angenommen. Öffnen Sie den Link in der Einladungs-Mail und wählen Sie Beitreten. Ist der Link abgelaufen, fordern Sie bei den Administratoren eine neue Einladung an.",
	"membership_inactive.title":  "Ihre Mitgliedschaft ist deaktiviert",
	"membership_inactive.body":   "Ihre Mitgliedschaft in dieser Organisation wurde deaktiviert. Bitten Sie die Administratoren, sie wieder zu aktivieren, oder wechseln Sie in eine andere Organisation.",
	"missing_role.title":         "Diese Seite ist für Sie nicht freigegeben",
	"missing_role.body":          "Für diese Seite brauchen Sie eine Rolle, die Sie in dieser Organisation nicht haben. Fragen Sie die Administratoren, wenn Sie sie benötigen.",
	"permission_denied.title":    "Nicht erlaubt",
	"permission_denied.body":     "Das dürfen Sie hier nicht. Fragen Sie die Administratoren der Organisation, wenn Sie es brauchen.",
	"no_organization.title":      "Keine Organisation gewählt",
	"no_organization.body":       "Diese Adresse nennt keine Organisation. Wählen Sie eine Ihrer Organisationen.",
	"not_found.title":            "Nicht gefunden",
	"not_found.body":             "Unter dieser Adresse gibt es nichts. Es wurde entfernt, oder der Link ist unvollständig.",
	"invitation_required.title":  "Eine Einladung ist nötig",
	"invitation_required.body":   "Diese App ist nur mit Einladung zugänglich, und das Konto, mit dem Sie sich angemeldet haben, hat keine Mitgliedschaft. Bitten Sie die Administratoren Ihrer Organisation um eine Einladung, oder melden Sie sich ab und mit dem eingeladenen Konto wieder an.",
	"invalid_token.title":        "Einladungslink ungültig",
	"invalid_token.body":         "Dieser Einladungslink ist ungültig. Prüfen Sie, ob Sie den ganzen Link aus der Mail geöffnet haben; klappt es dann nicht, bitten Sie die einladende Person um eine neue Einladung.",
	"missing_token.title":        "Einladungslink unvollständig",
	"missing_token.body":         "Dieser Einladungslink ist unvollständig: Ihm fehlt das Token. Öffnen Sie den ganzen Link aus der Einladungs-Mail.",
	"invite_expired.title":       "Einladung abgelaufen",
	"invite_expired.body":        "Diese Einladung ist abgelaufen. Fordern Sie eine neue an, dann bekommen Sie einen neuen Link per Mail.",
	"invite_revoked.title":       "Einladung zurückgezogen",
	"invite_revoked.body":        "Eine Administratorin oder ein Administrator hat diese Einladung zurückgezogen; sie gilt nicht mehr. Wenn Sie trotzdem beitreten möchten, bitten Sie um eine neue Einladung.",
	"invite_used.title":          "Einladung bereits verwendet",
	"invite_used.body":           "Diese Einladung wurde bereits angenommen. Waren Sie das, sind Sie Mitglied: Gehen Sie zur App. Waren Sie es nicht, sagen Sie es der Person, die Sie eingeladen hat.",
	"email_mismatch.title":       "Falsches Konto",
	"email_mismatch.body":        "Sie haben sich mit einer anderen E-Mail-Adresse angemeldet als der, an die die Einladung ging. Melden Sie sich ab und mit der eingeladenen Adresse wieder an.",
	"email_not_verified.title":   "E-Mail-Adresse nicht bestätigt",
	"email_not_verified.body":    "Ihr Anmeldedienst hat Ihre E-Mail-Adresse nicht bestätigt. Bestätigen Sie sie dort und melden Sie sich erneut an.",
	"identity_taken.title":       "Anmeldung gehört jemand anderem",
	"identity_taken.body":        "Dieses Anmeldekonto ist hier schon mit einer anderen Person verknüpft. Melden Sie sich ab und verwenden Sie Ihr eigenes Konto.",
	"identity_bound.title":       "Eine andere Anmeldung ist verknüpft",
	"identity_bound.body":        "Ihr Konto hier ist mit einer anderen Anmeldung bei diesem Dienst verknüpft. Melden Sie sich ab und mit dem Konto an, das Sie bisher verwendet haben.",
	"email_link_untrusted.title": "Melden Sie sich wie bisher an",
	"email_link_untrusted.body":  "Diesem Anmeldedienst wird nicht zugetraut, eine neue Anmeldung über die E-Mail-Adresse mit einem bestehenden Konto zu verbinden. Melden Sie sich wie bisher an oder fragen Sie die Administratoren.",
	"access_denied.title":        "Anmeldung abgelehnt",
	"access_denied.body":         "Der Anmeldedienst hat die Anmeldung nicht zugelassen. Beginnen Sie neu oder melden Sie sich mit einem anderen Konto an.",
	"provider_error.title":       "Anmeldung nicht abgeschlossen",
	"provider_error.body":        "Der Anmeldedienst meldete ein Problem und hat die Anmeldung nicht abgeschlossen. Beginnen Sie neu.",
	"provider_unavailable.title": "Anmeldung gerade nicht möglich",
	"provider_unavailable.body":  "Der Anmeldedienst ist gerade nicht erreichbar. Es ist nichts verloren: Versuchen Sie es in einer Minute erneut.",
	"provider_invalid.title":     "Der Anmeldedienst hat falsch geantwortet",
	"provider_invalid.body":      "Der Anmeldedienst hat geantwortet, aber mit seiner Antwort lässt sich nichts anfangen; Sie sind nicht angemeldet. Beginnen Sie neu; passiert es wieder, sagen Sie es den Administratoren der App.",
	"login_expired.title":        "Anmeldung hat zu lange gedauert",
	"login_expired.body":         "Die Anmeldung hat zu lange gedauert und wurde zu Ihrer Sicherheit abgebrochen. Beginnen Sie neu.",
	"login_not_started.title":    "Anmeldung nicht hier begonnen",
	"login_not_started.body":     "Diese Anmeldung wurde nicht in diesem Browser begonnen (oder seine Cookies wurden gelöscht). Beginnen Sie neu.",
	"rate_limited.title":         "Zu viele Versuche",
	"rate_limited.body":          "In kurzer Zeit gab es zu viele Versuche. Warten Sie eine Minute und versuchen Sie es dann erneut.",
	"session_unavailable.title":  "Diese Seite ist nicht eingerichtet",
	"session_unavailable.body":   "Die App ist nicht so eingerichtet, dass Sie auf dieser Seite angemeldet bleiben. Sagen Sie es den Administratoren der App.",
	"unavailable.title":          "Kurz nicht verfügbar",
	"unavailable.body":           "Der Dienst ist gerade kurz nicht verfügbar. Es ist nichts verloren: Versuchen Sie es in einer Minute erneut.",
	"internal.title":             "Etwas ist schiefgegangen",
	"internal.body":              "Bei uns ist etwas schiefgegangen. Es wurde nichts geändert; versuchen Sie es gleich noch einmal.",
	"generic4.title":             "Anfrage abgelehnt",
	"generic4.body":              "Diese Anfrage konnte nicht ausgeführt werden.",
	"generic5.title":             "Etwas ist schiefgegangen",
	"generic5.body":              "Bei uns ist etwas schiefgegangen. Versuchen Sie es gleich noch einmal.",

	"signed_out.title": "Sie sind abgemeldet",
	"signed_out.body":  "Sie wurden von dieser App abgemeldet.",
	"orgs.title":       "Meine Organisationen",
	"orgs.lead":        "Sie sind Mitglied dieser Organisationen. Wählen Sie, in welcher Sie arbeiten möchten.",
	"orgs.empty":       "Sie sind noch in keiner Organisation aktives Mitglied.",
	"orgs.current":     "Aktuell",
	"orgs.switch":      "Zu %s wechseln",
	"orgs.open":        "%s öffnen",

	"dev.note":          "Entwicklungs-Anmeldung: nicht für den Produktivbetrieb.",
	"dev.title":         "Bei %s anmelden",
	"dev.lead":          "Dies ist der Anmeldedienst für die Entwicklung. Jede E-Mail-Adresse funktioniert; das Passwort jedes Kontos ist %s.",
	"dev.email":         "E-Mail-Adresse",
	"dev.password":      "Passwort",
	"dev.password_hint": "Das Passwort ist %s.",
	"dev.submit":        "Anmelden",
	"dev.wrong":         "Das hat nicht geklappt: Das Passwort ist %s, und die E-Mail-Adresse braucht ein @.",
	"dev.signed_out":    "Sie sind vom Entwicklungs-Anmeldedienst abgemeldet.",
	"dev.back":          "Zurück zu %s",

	"inbox.note":      "Entwicklungs-Postfach: Diese Mails wurden NICHT versendet. Nie im Produktivbetrieb zeigen: Die Seite enthält Einladungslinks.",
	"inbox.title":     "Entwicklungs-Postfach",
	"inbox.empty":     "Noch keine Mail.",
	"inbox.from":      "Von",
	"inbox.to":        "An",
	"inbox.time":      "Zeit",
	"inbox.links":     "Links:",
	"inbox.text_part": "Textteil",
	"inbox.html_part": "HTML-Teil",

	"accept.title":               "%s beitreten",
	"accept.invited_by":          "%s hat Sie eingeladen, %s beizutreten.",
	"accept.invited":             "Sie sind eingeladen, %s beizutreten.",
	"accept.org":                 "Organisation",
	"accept.inviter":             "Eingeladen von",
	"accept.for":                 "Einladung für",
	"accept.valid_until":         "Gültig bis",
	"accept.continue":            "Als Nächstes melden Sie sich mit %s an.",
	"accept.other":               "Ein anderes Konto verwenden? Sie können mit dem Konto beitreten, mit dem Sie sich anmelden, auch wenn dessen E-Mail-Adresse abweicht; die Administratoren sehen, welche Adresse Sie verwendet haben.",
	"accept.join_signed_in":      "Mit dem Konto beitreten, mit dem ich mich anmelde",
	"logout.title":               "Abmelden",
	"logout.question":            "Von dieser App abmelden?",
	"logout.question_idp":        "Von dieser App und von Ihrem Anmeldedienst abmelden?",
	"message.detail":             "Der Anmeldedienst meldete:",
	"message.new_invite":         "Sie können die Administratoren bitten, Ihnen eine neue Einladung zu schicken.",
	"message.new_invite_org":     "Sie können die Administratoren von %s bitten, Ihnen eine neue Einladung zu schicken.",
	"requested.title":            "Neue Einladung angefordert",
	"requested.body":             "Wir haben die Administratoren gebeten, Ihnen eine neue Einladung zu schicken. Sie kommt per E-Mail.",
	"refusal.field":              "Feld",
	"signin_pending.title":       "Nehmen Sie zuerst Ihre Einladung an",
	"signin_pending.body":        "Sie wurden eingeladen, haben die Einladung aber noch nicht angenommen. Öffnen Sie den Link in der Einladungs-Mail und wählen Sie Beitreten. Ist der Link abgelaufen, können Sie auf der Seite, die er öffnet, eine neue Einladung anfordern.",
	"signin_inactive.title":      "Ihre Mitgliedschaft ist deaktiviert",
	"signin_inactive.body":       "Sie haben sich angemeldet, aber Ihre Mitgliedschaft wurde deaktiviert. Bitten Sie die Administratoren Ihrer Organisation, sie wieder zu aktivieren.",
	"provider_unreachable.title": "Der Anmeldedienst war nicht erreichbar",
	"provider_unreachable.body":  "Der Anmeldedienst war nicht erreichbar, um die Anmeldung abzuschließen. Beginnen Sie gleich noch einmal.",
}
