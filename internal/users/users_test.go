package users

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
)

func TestRolesIncludeTheOnesBelow(t *testing.T) {
	require.True(t, Admin.AtLeast(Supervisor))
	require.True(t, Admin.AtLeast(Operator))
	require.True(t, Supervisor.AtLeast(Operator))
	require.True(t, Supervisor.AtLeast(Supervisor))
	require.False(t, Operator.AtLeast(Supervisor))
	require.False(t, Supervisor.AtLeast(Admin))
	require.False(t, Role("root").AtLeast(Operator), "an unknown role is at least nothing")
	require.False(t, Admin.AtLeast(Role("")))

	r, err := ParseRole(" Supervisor ")
	require.NoError(t, err)
	require.Equal(t, Supervisor, r)
	_, err = ParseRole("boss")
	require.ErrorIs(t, err, ErrInvalid)
	require.EqualError(t, err, `role: "boss" is not a role: give operator, supervisor or admin`)
}

func TestRoleMatrix(t *testing.T) {
	may := func(r Role) []Act {
		var out []Act
		for _, a := range []Act{ActStation, ActDashboard, ActCorrect, ActPair, ActCloseOrder, ActUsers, ActTemplates, ActConfig} {
			if r.May(a) {
				out = append(out, a)
			}
		}
		return out
	}
	require.Equal(t, []Act{ActStation}, may(Operator))
	require.Equal(t, []Act{ActStation, ActDashboard, ActCorrect, ActPair, ActCloseOrder}, may(Supervisor))
	require.Len(t, may(Admin), len(Needs), "an admin may do everything")
	require.False(t, Admin.May(Act("format-disk")), "an act the matrix does not name is refused")
	require.True(t, ActCorrect.Signed())
	require.False(t, ActPair.Signed())
}

func TestNames(t *testing.T) {
	for _, ok := range []string{"maria", "maria.schmidt", "Zoë Müller", "j", strings.Repeat("é", 64),
		"0123456789abcdef012", // 19 characters of hex: short enough to be a name
		"JohannesMueller Schmidt"} {
		require.NoError(t, CheckName(ok), "%q", ok)
	}
	for bad, msg := range map[string]string{
		"":                      "give 1 to 64 printable characters",
		strings.Repeat("a", 65): "give 1 to 64 printable characters",
		"maria\n":               "give 1 to 64 printable characters",
		"tab\there":             "give 1 to 64 printable characters",
		"\xff":                  "give 1 to 64 printable characters",
		" maria":                "no spaces at the start or end",
		"3f786850e387550fdab836ed7e6dc881de23001b": "looks like a token",
		"q83vEjRWeJASNFZ4kBI0VniQEjRWeJA":          "looks like a token",
		"c2VjcmV0LXRva2VuLXZhbHVl+/==":             "looks like a token",
		"a-long-enough-token":                      "", // 19 characters
		"a-long-enough-token1":                     "looks like a token",
	} {
		err := CheckName(bad)
		if msg == "" {
			require.NoError(t, err, "%q", bad)
			continue
		}
		require.ErrorIs(t, err, ErrInvalid, "%q", bad)
		require.Contains(t, err.Error(), msg, "%q", bad)
	}
}

func TestPasswords(t *testing.T) {
	require.NoError(t, CheckPassword("maria", "twelve chars"))
	for pw, msg := range map[string]string{
		"short":                    "password: at least 12 characters (this one has 5)",
		"elevenchars":              "password: at least 12 characters (this one has 11)",
		strings.Repeat("x", 257):   "password: at most 256 characters",
		"twelve chars\n":           "password: no control characters (tabs, line ends)",
		"Maria.Schmidt":            "password: must not be the name",
		"not\xffvalid utf8 at all": "password: not valid text",
	} {
		name := "maria.schmidt"
		require.EqualError(t, CheckPassword(name, pw), msg, "%q", pw)
	}
}

func TestAddGetList(t *testing.T) {
	l := newLine(t)
	l.add(t, "maria", Admin)
	l.add(t, "Jon", Operator)

	u, err := l.users.Get(ctx, "MARIA")
	require.NoError(t, err, "names are found whatever their case")
	require.Equal(t, "maria", u.Name)
	require.Equal(t, Admin, u.Role)
	require.False(t, u.Disabled || u.Badge || u.PIN)
	require.Equal(t, l.clock.Now(), u.Created)

	err = l.users.Add(ctx, "cli:root", "JON", Operator, pw("x"))
	require.ErrorIs(t, err, ErrExists)
	require.EqualError(t, err, "a person with that name exists already: Jon")
	require.ErrorIs(t, l.users.Add(ctx, "cli:root", "anna", "boss", pw("anna")), ErrInvalid)
	require.ErrorIs(t, l.users.Add(ctx, "cli:root", "anna", Operator, "short"), ErrInvalid)
	require.ErrorIs(t, l.users.Add(ctx, "cli:root", "deadbeefdeadbeefdeadbeef", Operator, pw("anna")), ErrInvalid)

	_, err = l.users.Get(ctx, "nobody")
	require.ErrorIs(t, err, ErrNoUser)
	require.EqualError(t, err, "no such person: nobody")

	all, err := l.users.List(ctx)
	require.NoError(t, err)
	require.Len(t, all, 2)
	require.Equal(t, []string{"Jon", "maria"}, []string{all[0].Name, all[1].Name})

	require.Equal(t, []string{"cli:root user.add maria →role admin ()", "cli:root user.add Jon →role operator ()"}, l.auditLog(t))

	// The password is kept as an argon2id string with its costs, never as given.
	var hash string
	require.NoError(t, l.db.Reader().QueryRow(`SELECT password FROM users WHERE name = 'maria'`).Scan(&hash))
	require.True(t, strings.HasPrefix(hash, "$argon2id$v=19$m=64,t=1,p=1$"), hash)
	require.NotContains(t, l.dump(t), pw("maria"))
}

func TestAuthenticate(t *testing.T) {
	l := newLine(t)
	l.add(t, "maria", Supervisor)
	l.add(t, "jon", Operator)
	require.NoError(t, l.users.Disable(ctx, "cli:root", "jon"))

	u, err := l.users.Authenticate(ctx, "Maria", pw("maria"))
	require.NoError(t, err)
	require.Equal(t, "maria", u.Name)
	require.Equal(t, Supervisor, u.Role)

	// A wrong password, an unknown name and a disabled person are refused alike.
	for _, try := range [][2]string{{"maria", pw("jon")}, {"nobody", pw("nobody")}, {"jon", pw("jon")}, {"maria", ""}} {
		_, err := l.users.Authenticate(ctx, try[0], try[1])
		require.True(t, errors.Is(err, ErrBadCredentials) && err.Error() == ErrBadCredentials.Error(), "%v: %v", try, err)
	}
}

// An unknown name costs as much as a known one: the answer's time does not
// tell whether the name exists.
func TestAuthenticateTakesAsLongForUnknownNames(t *testing.T) {
	l := newLine(t)
	l.cfg.Password = HashParams{Time: 1, MemoryKiB: 8 * 1024, Threads: 1} // long enough to dwarf the query
	l.cfg.MaxFailures = 1000
	l.users = New(l.db, l.cfg, l.users.log)
	l.add(t, "maria", Operator)
	median := func(name string) time.Duration {
		var ds []time.Duration
		for range 7 {
			start := time.Now()
			_, err := l.users.Authenticate(ctx, name, "not the password")
			require.ErrorIs(t, err, ErrBadCredentials)
			ds = append(ds, time.Since(start))
		}
		slices.Sort(ds)
		return ds[len(ds)/2]
	}
	_, _ = l.users.Authenticate(ctx, "warm-up", "x") // makes the hash for unknown names once
	known, unknown := median("maria"), median("nobody")
	require.Greater(t, unknown, known/3, "known %s, unknown %s", known, unknown)
	require.Greater(t, known, unknown/3, "known %s, unknown %s", known, unknown)
}

func TestLastAdminStays(t *testing.T) {
	l := newLine(t)
	l.add(t, "maria", Admin)
	l.add(t, "jon", Operator)

	require.ErrorIs(t, l.users.Disable(ctx, "cli:root", "maria"), ErrLastAdmin)
	require.ErrorIs(t, l.users.SetRole(ctx, "cli:root", "maria", Supervisor), ErrLastAdmin)
	require.NoError(t, l.users.Disable(ctx, "cli:root", "jon"))

	// A disabled admin is no admin: it does not let the last one go.
	require.NoError(t, l.users.Enable(ctx, "cli:root", "jon"))
	require.NoError(t, l.users.SetRole(ctx, "cli:root", "jon", Admin))
	require.NoError(t, l.users.Disable(ctx, "cli:root", "jon"))
	require.ErrorIs(t, l.users.SetRole(ctx, "cli:root", "maria", Operator), ErrLastAdmin)

	require.NoError(t, l.users.Enable(ctx, "cli:root", "jon"))
	require.NoError(t, l.users.SetRole(ctx, "user:jon", "maria", Supervisor))
	require.ErrorIs(t, l.users.Disable(ctx, "cli:root", "jon"), ErrLastAdmin)
	u, err := l.users.Get(ctx, "maria")
	require.NoError(t, err)
	require.Equal(t, Supervisor, u.Role)

	// Changing nothing writes nothing.
	n := len(l.auditLog(t))
	require.NoError(t, l.users.SetRole(ctx, "cli:root", "maria", Supervisor))
	require.NoError(t, l.users.Enable(ctx, "cli:root", "maria"))
	require.Len(t, l.auditLog(t), n)
	require.Equal(t, "user:jon user.role maria admin→supervisor ()", l.auditLog(t)[n-1])
	require.ErrorIs(t, l.users.Disable(ctx, "cli:root", "nobody"), ErrNoUser)
}

func TestDisableEndsLoginsAndSignOns(t *testing.T) {
	l := newLine(t)
	l.add(t, "maria", Admin)
	l.add(t, "jon", Operator)
	jon, err := l.users.Authenticate(ctx, "jon", pw("jon"))
	require.NoError(t, err)
	token, _, err := l.sessions.Create(ctx, jon, "10.0.0.7")
	require.NoError(t, err)
	badge, err := l.users.SetBadge(ctx, "user:maria", "jon")
	require.NoError(t, err)
	_, err = l.users.SignOn(ctx, "Case-1", badge)
	require.NoError(t, err)

	require.NoError(t, l.users.Disable(ctx, "user:maria", "jon"))
	_, err = l.sessions.Lookup(ctx, token)
	require.ErrorIs(t, err, ErrNoSession)
	_, err = l.users.SignedOn(ctx, "Case-1")
	require.ErrorIs(t, err, ErrNotSignedOn)
	_, err = l.users.Authenticate(ctx, "jon", pw("jon"))
	require.ErrorIs(t, err, ErrBadCredentials)
	_, err = l.users.SignOn(ctx, "Case-1", badge)
	require.ErrorIs(t, err, ErrBadSignOn)
	_, _, err = l.sessions.Create(ctx, jon, "10.0.0.7")
	require.ErrorIs(t, err, ErrBadCredentials, "a login for someone disabled meanwhile")

	// Enabled again, they log in with what they had; the old login stays ended.
	require.NoError(t, l.users.Enable(ctx, "user:maria", "jon"))
	_, err = l.sessions.Lookup(ctx, token)
	require.ErrorIs(t, err, ErrNoSession)
	_, err = l.users.Authenticate(ctx, "jon", pw("jon"))
	require.NoError(t, err)
	_, err = l.users.SignOn(ctx, "Case-1", badge)
	require.NoError(t, err)
	log := l.auditLog(t)
	require.Contains(t, log, "user:maria user.disable jon enabled→disabled ()")
	require.Contains(t, log, "user:maria user.enable jon disabled→enabled ()")
}

func TestSetPasswordEndsLogins(t *testing.T) {
	l := newLine(t)
	l.add(t, "maria", Supervisor)
	u, err := l.users.Authenticate(ctx, "maria", pw("maria"))
	require.NoError(t, err)
	token, _, err := l.sessions.Create(ctx, u, "")
	require.NoError(t, err)

	require.ErrorIs(t, l.users.SetPassword(ctx, "user:maria", "maria", "short"), ErrInvalid)
	require.NoError(t, l.users.SetPassword(ctx, "user:maria", "MARIA", "a new long password"))
	_, err = l.sessions.Lookup(ctx, token)
	require.ErrorIs(t, err, ErrNoSession)
	_, err = l.users.Authenticate(ctx, "maria", pw("maria"))
	require.ErrorIs(t, err, ErrBadCredentials)
	_, err = l.users.Authenticate(ctx, "maria", "a new long password")
	require.NoError(t, err)
	require.ErrorIs(t, l.users.SetPassword(ctx, "cli:root", "nobody", "a new long password"), ErrNoUser)
	require.Contains(t, l.auditLog(t), "user:maria user.password maria →changed ()")
	require.NotContains(t, l.dump(t), "a new long password")
}

// Hashes carry their costs: after the costs change, old hashes still
// verify, and new ones take the new costs.
func TestHashesCarryTheirCosts(t *testing.T) {
	l := newLine(t)
	l.add(t, "maria", Operator) // with cheap costs
	l.cfg.Password = HashParams{Time: 2, MemoryKiB: 128, Threads: 2}
	l.users = New(l.db, l.cfg, l.users.log)
	_, err := l.users.Authenticate(ctx, "maria", pw("maria"))
	require.NoError(t, err)
	require.NoError(t, l.users.SetPassword(ctx, "cli:root", "maria", "another long password"))
	var hash string
	require.NoError(t, l.db.Reader().QueryRow(`SELECT password FROM users`).Scan(&hash))
	p, salt, key, err := decodeHash(hash)
	require.NoError(t, err)
	require.Equal(t, l.cfg.Password, p)
	require.Len(t, salt, 16)
	require.Len(t, key, 32)
	require.True(t, verify(hash, "another long password"))
	require.False(t, verify(hash, "another long passworD"))

	for _, bad := range []string{"", "plain", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5", "$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=64,t=1,p=1,x=2$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5", "$argon2id$v=19$m=64,t=1,p=1$!!$a2V5a2V5a2V5a2V5a2V5"} {
		_, _, _, err := decodeHash(bad)
		require.Error(t, err, bad)
		require.False(t, verify(bad, ""), bad)
	}
}

// The default costs, as written into a hash, and what they cost here.
func TestDefaultCosts(t *testing.T) {
	require.Equal(t, HashParams{Time: 3, MemoryKiB: 65536, Threads: 4}, PasswordHash)
	require.Equal(t, HashParams{Time: 2, MemoryKiB: 19456, Threads: 1}, PINHash)
	start := time.Now()
	h := PasswordHash.hash("correct horse battery")
	t.Logf("one password hash: %s (race detector on: slower)", time.Since(start))
	require.True(t, strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=3,p=4$"), h)
	require.True(t, verify(h, "correct horse battery"))
	u := New(nil, Config{}, zerolog.Nop())
	require.Equal(t, PasswordHash, u.cfg.Password)
	require.Equal(t, 30*time.Minute, u.cfg.Idle)
	require.Equal(t, 12*time.Hour, u.cfg.Absolute)
	require.Equal(t, 15*time.Minute, u.cfg.StationIdle)
	require.Equal(t, 5, u.cfg.MaxFailures)
}

func BenchmarkPasswordHash(b *testing.B) {
	salt := make([]byte, saltLen)
	for b.Loop() {
		PasswordHash.key("correct horse battery", salt, keyLen)
	}
}

func BenchmarkPINHash(b *testing.B) {
	salt := make([]byte, saltLen)
	for b.Loop() {
		PINHash.key("480213", salt, keyLen)
	}
}
