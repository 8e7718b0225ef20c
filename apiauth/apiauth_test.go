package apiauth

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestValid(t *testing.T) {
	tests := []struct {
		name, header, token string
		basic               [2]string
		want                bool
	}{
		{name: "bearer", header: "Bearer s3cret", token: "s3cret", want: true},
		{name: "bearer, any case", header: "bEARER s3cret", token: "s3cret", want: true},
		{name: "dcos token", header: "token=s3cret", token: "s3cret", want: true},
		{name: "basic, any user", basic: [2]string{"prometheus", "s3cret"}, token: "s3cret", want: true},
		{name: "basic, no user", basic: [2]string{"", "s3cret"}, token: "s3cret", want: true},
		{name: "wrong bearer", header: "Bearer nope", token: "s3cret"},
		{name: "wrong basic", basic: [2]string{"s3cret", "nope"}, token: "s3cret"},
		{name: "none", token: "s3cret"},
		{name: "server without token", header: "Bearer ", token: ""},
		{name: "other scheme", header: "Digest s3cret", token: "s3cret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/v2/apps", nil)
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			if tt.basic != [2]string{} {
				req.SetBasicAuth(tt.basic[0], tt.basic[1])
			}
			if got := Valid(req, tt.token); got != tt.want {
				t.Errorf("Valid = %v, want %v", got, tt.want)
			}
		})
	}
}

// Require serves the request with the token and refuses, with both
// challenges and the dialect's own answer, the one without.
func TestRequire(t *testing.T) {
	h := Require("s3cret", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) }),
		func(w http.ResponseWriter) { http.Error(w, "refused", http.StatusUnauthorized) })
	req := httptest.NewRequest("GET", "/v2/apps", nil)
	req.Header.Set("Authorization", "Bearer s3cret")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusTeapot {
		t.Errorf("with the token: %d", rec.Code)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/v2/apps", nil))
	if rec.Code != http.StatusUnauthorized || rec.Body.String() != "refused\n" || len(rec.Header().Values("WWW-Authenticate")) != 2 {
		t.Errorf("without the token: %d %q %v", rec.Code, rec.Body.String(), rec.Header())
	}
}
