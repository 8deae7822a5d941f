package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/browsertest"
)

// TestBrowserTimeZoneFollowsTheBrowserThenTheUser: a browser in Tokyo
// opens the account page of an account without a time zone; the page
// saves the browser's zone, and from then on times show in it, named
// (JST), with the year-first format; the user then picks another zone and
// the page follows it. A name that is not a zone is refused.
func TestBrowserTimeZoneFollowsTheBrowserThenTheUser(t *testing.T) {
	up := newUpstream(t)
	g := gatewayWith(t, up, nil)
	a := g.CreateUser(t, account.NewAccount{Email: "ada@example.com", FirstName: "Ada", LastName: "Lovelace", Password: pw,
		CompanyID: "acme", Role: "viewer", Language: "ja"})
	if a.TimeZone != "" || a.DateFormat != "YYYY/MM/DD" {
		t.Fatalf("a new Japanese account: zone %q, format %q", a.TimeZone, a.DateFormat)
	}
	ctx := browsertest.New(t)
	if err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "Asia/Tokyo"})
		return err
	})); err != nil {
		t.Fatal(err)
	}
	browserSignIn(t, ctx, g, "ada@example.com")
	if err := chromedp.Do(ctx, chromedp.Navigate(g.URL+"/.gatehouse/account/"), chromedp.WaitVisible("#time_zone")); err != nil {
		t.Fatal(err)
	}
	panelWait(t, 10*time.Second, "the browser's zone saved", func() bool {
		got, err := g.Store.GetAccount(context.Background(), a.ID)
		return err == nil && got.TimeZone == "Asia/Tokyo"
	})
	sessionTimes := func() string {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(g.URL+"/.gatehouse/account/"), chromedp.WaitVisible("#sessions")); err != nil {
			t.Fatal(err)
		}
		text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#sessions tbody tr").innerText`))
		if err != nil {
			t.Fatal(err)
		}
		return text
	}
	if text := sessionTimes(); !strings.Contains(text, " JST") || !strings.Contains(text, time.Now().In(mustZone(t, "Asia/Tokyo")).Format("2006/01/02")) {
		t.Fatalf("session times not in Tokyo time, year first: %q", text)
	}
	// The user's own choice wins, and a second visit does not undo it.
	if err := chromedp.Do(ctx,
		chromedp.SetValue("#time_zone", "Europe/Paris"),
		chromedp.Click("#preferences-submit"),
		chromedp.WaitVisible(".alert.ok"),
	); err != nil {
		t.Fatal(err)
	}
	if text := sessionTimes(); !strings.Contains(text, " CET") && !strings.Contains(text, " CEST") {
		t.Fatalf("session times not in Paris time: %q", text)
	}
	if got, _ := g.Store.GetAccount(context.Background(), a.ID); got.TimeZone != "Europe/Paris" {
		t.Fatalf("zone after the user's choice and a visit from Tokyo: %q", got.TimeZone)
	}
	if err := chromedp.Do(ctx,
		chromedp.SetValue("#time_zone", "Mars/Olympus_Mons"),
		chromedp.Click("#preferences-submit"),
		chromedp.WaitVisible(".alert.error"),
	); err != nil {
		t.Fatal(err)
	}
	if got, _ := g.Store.GetAccount(context.Background(), a.ID); got.TimeZone != "Europe/Paris" {
		t.Fatalf("a refused zone changed the account: %q", got.TimeZone)
	}
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
