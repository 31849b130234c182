// Verifies invitekit webhook deliveries with the Standard Webhooks
// reference library (npm standardwebhooks). Input: a JSON file of
// [{secret, headers: {"webhook-id", "webhook-timestamp", "webhook-signature"}, body}].
// Every delivery must verify, and the same delivery with a tampered body
// must not; one marked "old" (a timestamp outside the tolerance) must be
// refused. Prints "verified N".
import { readFileSync } from "node:fs";
import { Webhook } from "standardwebhooks";

const deliveries = JSON.parse(readFileSync(process.argv[2], "utf8"));
let n = 0;
for (const d of deliveries) {
  const wh = new Webhook(d.secret);
  if (d.old) {
    // Signed right, but outside the verifier's timestamp tolerance.
    let refused = false;
    try {
      wh.verify(d.body, d.headers);
    } catch {
      refused = true;
    }
    if (!refused) throw new Error("an old timestamp verified: " + d.headers["webhook-id"]);
    n++;
    continue;
  }
  const payload = wh.verify(d.body, d.headers); // throws when not verified
  if (payload.type === undefined) throw new Error("no type in " + d.body);
  let tampered = false;
  try {
    wh.verify(d.body.replace("}", ' }'), d.headers);
  } catch {
    tampered = true;
  }
  if (!tampered) throw new Error("a tampered body verified: " + d.headers["webhook-id"]);
  n++;
}
console.log("verified " + n);
