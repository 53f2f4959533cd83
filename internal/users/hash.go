package users

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// HashParams are the argon2id costs of a password or PIN hash. They are
// written into every hash (a PHC string such as
// $argon2id$v=19$m=65536,t=3,p=4$salt$hash), so they can be raised later:
// new hashes take the new costs, and hashes made with the old ones keep
// verifying with theirs.
type HashParams struct {
	Time      uint32 // passes over the memory
	MemoryKiB uint32 // memory in KiB
	Threads   uint8  // lanes
}

// PasswordHash is the cost of a password hash: RFC 9106's second
// recommended setting (t=3, 64 MiB, 4 lanes). On a 2-core line PC one hash
// takes about a tenth of a second (110 ms measured) and holds 64 MiB while
// it runs; hashSlots lets two run at once.
var PasswordHash = HashParams{Time: 3, MemoryKiB: 64 * 1024, Threads: 4}

// PINHash is the cost of a PIN hash: OWASP's minimum for argon2id (t=2,
// 19 MiB, 1 lane; about 17 ms on a 2-core line PC). It is lower than a
// password's because a PIN typed at a station is checked against every
// person's PIN (see Users.SignOn). A PIN has few digits and is protected by
// the failure limit, not by its hash.
var PINHash = HashParams{Time: 2, MemoryKiB: 19 * 1024, Threads: 1}

const (
	saltLen = 16
	keyLen  = 32
)

// hashSlots bounds how many hashes run at once, each holding its memory
// (64 MiB for a password): a burst of logins cannot exhaust the line PC.
var hashSlots = make(chan struct{}, 2)

// key derives n bytes from secret and salt, waiting for a free slot.
func (p HashParams) key(secret string, salt []byte, n uint32) []byte {
	hashSlots <- struct{}{}
	defer func() { <-hashSlots }()
	return argon2.IDKey([]byte(secret), salt, p.Time, p.MemoryKiB, p.Threads, n)
}

// hash returns the PHC string of secret with a new random salt.
func (p HashParams) hash(secret string) string {
	salt := make([]byte, saltLen)
	_, _ = rand.Read(salt) // crypto/rand.Read never fails
	return p.encode(salt, p.key(secret, salt, keyLen))
}

func (p HashParams) encode(salt, key []byte) string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

var errBadHash = errors.New("not an argon2id hash")

// decodeHash reads a PHC string written by encode. Costs far outside what
// this package writes are refused, so a damaged row cannot make a login
// take gigabytes.
func decodeHash(s string) (p HashParams, salt, key []byte, err error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, errBadHash
	}
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return p, nil, nil, errBadHash
		}
		switch k {
		case "m":
			p.MemoryKiB = uint32(n)
		case "t":
			p.Time = uint32(n)
		case "p":
			if n > 255 {
				return p, nil, nil, errBadHash
			}
			p.Threads = uint8(n)
		default:
			return p, nil, nil, errBadHash
		}
	}
	if p.Time < 1 || p.Time > 100 || p.Threads < 1 || p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > 4<<20 {
		return p, nil, nil, errBadHash
	}
	b64 := base64.RawStdEncoding
	if salt, err = b64.DecodeString(parts[4]); err != nil || len(salt) < 8 {
		return p, nil, nil, errBadHash
	}
	if key, err = b64.DecodeString(parts[5]); err != nil || len(key) < 16 {
		return p, nil, nil, errBadHash
	}
	return p, salt, key, nil
}

// verify reports whether secret matches the PHC string encoded, taking the
// same time whether or not it does. A string that is not a hash matches
// nothing.
func verify(encoded, secret string) bool {
	p, salt, key, err := decodeHash(encoded)
	if err != nil {
		return false
	}
	got := p.key(secret, salt, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1
}
