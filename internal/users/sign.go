package users

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// An electronic signature (21 CFR Part 11 §11.50, §11.200) is the signer's
// name and password given again for one act, with what the signature
// means and why the act is done. Sign checks them and returns the
// Signature; the caller stores it with the act, in the audit log of the
// act's own transaction, so the two cannot be parted (§11.70).

// The meanings a signature may have (§11.50(a)(3)): a fixed list, so that
// records can be searched and read alike.
const (
	MeaningApproved  = "approved"  // the act is approved (e.g. a reprint)
	MeaningReviewed  = "reviewed"  // the signer has reviewed the record
	MeaningPerformed = "performed" // the signer did the act
	MeaningVerified  = "verified"  // the signer checked an act done by someone else
)

// Meanings lists the meanings Sign accepts.
var Meanings = []string{MeaningApproved, MeaningReviewed, MeaningPerformed, MeaningVerified}

// Signature is a person's electronic signature of one act.
type Signature struct {
	Name    string    `json:"name"`    // the signer, as registered
	Role    Role      `json:"role"`    // their role when signing
	Meaning string    `json:"meaning"` // one of Meanings
	Reason  string    `json:"reason"`  // why the act is done, as the signer gave it
	At      time.Time `json:"at"`      // UTC
}

// String is the signature as a record shows it, e.g.
// "approved by maria (supervisor) at 2026-03-02T10:04:05Z: label smudged".
func (s Signature) String() string {
	return fmt.Sprintf("%s by %s (%s) at %s: %s", s.Meaning, s.Name, s.Role, s.At.UTC().Format(time.RFC3339), s.Reason)
}

// Sign checks the signer's name and password again, as Authenticate does
// and under the same failure limit for the name, and returns the
// signature. meaning must be one of Meanings; reason is required (1 to 500
// printable characters). The caller decides whether the signer's role may
// do the act (Role.May) and, on a dashboard, passes the logged-in person's
// name: one may sign only as oneself.
func (u *Users) Sign(ctx context.Context, name, password, meaning, reason string) (Signature, error) {
	meaning = strings.ToLower(strings.TrimSpace(meaning))
	if !slices.Contains(Meanings, meaning) {
		return Signature{}, &InputError{"meaning", fmt.Sprintf("%q is not a meaning of a signature: give %s", meaning, strings.Join(Meanings, ", "))}
	}
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return Signature{}, &InputError{"reason", "say why (required with a signature)"}
	}
	if !utf8.ValidString(reason) || utf8.RuneCountInString(reason) > 500 || !printable(reason) {
		return Signature{}, &InputError{"reason", "at most 500 printable characters on one line"}
	}
	x, err := u.Authenticate(ctx, name, password)
	if err != nil {
		return Signature{}, err
	}
	return Signature{Name: x.Name, Role: x.Role, Meaning: meaning, Reason: reason, At: u.now().UTC()}, nil
}
