package cookies

import "testing"

func TestOwned(t *testing.T) {
	for name, want := range map[string]bool{
		Session: true, CSRF: true, SSO: true, Passkey("pk_login"): true,
		Name(Session, true): true, "__Secure-" + CSRF: true, "__HOST-GATEHOUSE_SESSION": true,
		" gatehouse_session ": true, "Gatehouse_Anything": true,
		"app": false, "my_gatehouse_session": false, "gatehouse-session": false,
		"__Host-app": false, "gatehouse": false, "": false,
	} {
		if got := Owned(name); got != want {
			t.Errorf("Owned(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestName(t *testing.T) {
	if Name(Session, false) != "gatehouse_session" || Name(Session, true) != "__Host-gatehouse_session" {
		t.Errorf("names: %q %q", Name(Session, false), Name(Session, true))
	}
}

func TestMentioned(t *testing.T) {
	for s, want := range map[string]bool{
		"a=1; b=2": false, "a=1; GATEHOUSE_x=2": true, "gatehouse_": true, "gatehouse": false,
	} {
		if Mentioned(s) != want {
			t.Errorf("Mentioned(%q) = %v", s, !want)
		}
	}
}
