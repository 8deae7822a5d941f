package reset_test

import "github.com/gatehouse/gatehouse/internal/account"

func accountSSO(email string) account.NewAccount {
	return account.NewAccount{Email: email, FirstName: "S", LastName: "O", SignIn: "sso:google", Role: "viewer"}
}

func invited(email, lang string) account.NewAccount {
	return account.NewAccount{Email: email, FirstName: "Nina", LastName: "Neu", Role: "viewer", Language: lang}
}
