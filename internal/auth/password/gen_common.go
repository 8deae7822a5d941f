//go:build ignore

// gen_common writes common.txt, the list CheckPolicy refuses. It composes
// the words and patterns people reach for first with the decorations they
// add to satisfy a length rule; entries shorter than the minimum length
// are left out because the length rule already refuses them.
//
//	go run gen_common.go > common.txt
package main

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"unicode/utf8"
)

var words = strings.Fields(`
password passw0rd p4ssword p4ssw0rd passwort motdepasse contrasena senha wachtwoord
qwerty qwertz azerty qwertyuiop azertyuiop qwertzuiop asdfghjkl zxcvbnm
iloveyou welcome letmein admin administrator root changeme secret default login
access master trustno1 whatever freedom computer internet monkey dragon shadow
sunshine princess superman batman spiderman starwars pokemon minecraft fortnite
football baseball basketball soccer hockey tennis golfer liverpool chelsea arsenal
barcelona realmadrid manchester juventus marseille toulouse paris london newyork
tokyo berlin madrid chicago michael jennifer jordan charlie thomas hunter ranger
buster daniel andrew joshua matthew robert william jessica ashley amanda nicole
nicolas julien camille thomas sakura naruto pikachu chocolate cookie butterfly
flower rainbow summer winter spring autumn january february march april june july
august september october november december monday tuesday wednesday thursday
friday saturday sunday mustang harley ferrari porsche corvette yankees cowboys
eagles lakers steelers bonjour soleil doudou chouchou loulou amour jetaime
chéri bienvenue azerty123 company office gatehouse welcome1 summer1 letmein1
killer hello hellokitty blink182 matrix phoenix tigger maggie ginger pepper
peanut banana orange purple yellow silver golden diamond guitar music qazwsx
zaq1xsw2 1q2w3e4r 1qaz2wsx abc123 abcdef abcdefgh passpass trustme
`)

var suffixes = strings.Fields(`
1 12 123 1234 12345 123456 1234567 12345678 123456789 1234567890
! 1! 12! 123! 1234! @ @1 @123 # #1 01 007 69 99 00 11 111 321 654321 000
2000 2010 2015 2018 2019 2020 2021 2022 2023 2024 2025 2026
2020! 2021! 2022! 2023! 2024! 2025! 2026! 01! 1234567! 123456!
`)

var patterns = strings.Fields(`
123456789012 1234567890123 12345678901234 123456789012345 1234567890123456
098765432109 0987654321098 111111111111 000000000000 121212121212 123123123123
112233445566 147258369147 159753159753 741852963741 987654321987 135792468013
abcdefghijkl abcdefghijklm abcdefghijklmnop abcdefghijklmnopqrstuvwxyz
qwertyuiopasdfghjkl qwertyuiopasdfghjklzxcvbnm qwertyuiop123 azertyuiopqsdfghjklm
1q2w3e4r5t6y 1q2w3e4r5t6y7u 1q2w3e4r5t6y7u8i 1qaz2wsx3edc 1qaz2wsx3edc4rfv
zaq12wsxcde3 qazwsxedcrfv qazwsxedcrfvtgb zxcvbnmasdfghjkl asdfghjkl123
correcthorsebatterystaple thisismypassword mypassword123 letmeinplease
iloveyouforever iloveyousomuch passwordpassword changemenow changemeplease
welcometothejungle welcome123456 administrator1 administrator123 adminadminadmin
rootrootroot secretpassword supersecret123 supersecretpassword nopassword
password1234567 qwerty123456 qwerty1234567 qwertyqwerty asdfasdfasdf
abc123abc123 abcd1234abcd zxcvbnm123456 trustno1trustno1 mypasswordis
`)

var glue = strings.Fields(`password iloveyou welcome letmein admin secret my`)

func main() {
	set := map[string]bool{}
	add := func(s string) {
		s = strings.ToLower(s)
		if utf8.RuneCountInString(s) >= 12 {
			set[s] = true
		}
	}
	for _, p := range patterns {
		add(p)
	}
	for _, w := range words {
		add(w + w)
		for _, s := range suffixes {
			add(w + s)
		}
		// Pairs only with the words people actually glue to others
		// ("iloveyoumonkey", "welcomepassword"); all pairs would swell the
		// list with combinations nobody picks.
		for _, k := range glue {
			if k != w {
				add(k + w)
				add(w + k)
			}
		}
	}
	list := make([]string, 0, len(set))
	for s := range set {
		list = append(list, s)
	}
	sort.Strings(list)
	fmt.Fprintln(os.Stderr, len(list), "entries")
	for _, s := range list {
		fmt.Println(s)
	}
}
