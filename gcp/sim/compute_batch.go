package sim

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strings"
)

// computeBatchMax is how many calls one batch may carry, as Google's limit.
const computeBatchMax = 1000

// serveBatch answers POST /batch/compute/v1: a multipart/mixed body whose
// parts are HTTP requests (application/http), answered as a multipart/mixed
// body of HTTP responses, each with the Content-ID of its request prefixed
// "response-". gcloud sends one whenever a command acts on several
// resources or scopes (`delete a b`, `list --regions r1,r2`).
func (a *computeAPI) serveBatch(w http.ResponseWriter, r *http.Request) {
	mediaType, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/mixed" || params["boundary"] == "" {
		computeWriteError(w, &computeError{http.StatusBadRequest, "A batch request must have Content-Type multipart/mixed with a boundary.", "badRequest"})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, computeMaxBody*8))
	if err != nil {
		computeWriteError(w, &computeError{http.StatusRequestEntityTooLarge, "The batch request body is too large or could not be read.", "requestTooLarge"})
		return
	}
	type call struct {
		id  string
		req *http.Request
	}
	var calls []call
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		part, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			computeWriteError(w, &computeError{http.StatusBadRequest, "Malformed multipart body: " + err.Error(), "badRequest"})
			return
		}
		if ct := part.Header.Get("Content-Type"); ct != "application/http" {
			computeWriteError(w, &computeError{http.StatusBadRequest, fmt.Sprintf("Each part of a batch must be application/http, not %q.", ct), "badRequest"})
			return
		}
		br := bufio.NewReader(part)
		inner, err := http.ReadRequest(br)
		if err != nil {
			computeWriteError(w, &computeError{http.StatusBadRequest, "A part of the batch is not an HTTP request: " + err.Error(), "badRequest"})
			return
		}
		payload, err := io.ReadAll(inner.Body)
		if err == nil && len(payload) == 0 {
			// A part need not say its body's length: the part ends it.
			payload, err = io.ReadAll(br)
		}
		if err != nil {
			computeWriteError(w, &computeError{http.StatusBadRequest, "A part of the batch has an unreadable body: " + err.Error(), "badRequest"})
			return
		}
		inner.Body = io.NopCloser(bytes.NewReader(bytes.TrimRight(payload, "\r\n")))
		inner.RemoteAddr = r.RemoteAddr
		calls = append(calls, call{part.Header.Get("Content-ID"), inner.WithContext(r.Context())})
	}
	if len(calls) > computeBatchMax {
		computeWriteError(w, &computeError{http.StatusBadRequest, fmt.Sprintf("A batch may hold at most %d calls; this one holds %d.", computeBatchMax, len(calls)), "badRequest"})
		return
	}

	var out bytes.Buffer
	mw := multipart.NewWriter(&out)
	for _, c := range calls {
		rec := httptest.NewRecorder()
		if !strings.HasPrefix(c.req.URL.Path, "/compute/v1/") {
			computeWriteError(rec, &computeError{http.StatusNotFound, fmt.Sprintf("The requested URL %s was not found on this server.", c.req.URL.Path), "notFound"})
		} else {
			a.rest.ServeHTTP(rec, c.req)
		}
		h := textproto.MIMEHeader{}
		h.Set("Content-Type", "application/http")
		if id := strings.Trim(c.id, "<>"); id != "" {
			h.Set("Content-ID", "<response-"+id+">")
		}
		pw, err := mw.CreatePart(h)
		if err != nil {
			computeWriteError(w, &computeError{http.StatusInternalServerError, "encode batch response: " + err.Error(), "backendError"})
			return
		}
		res := rec.Result()
		fmt.Fprintf(pw, "HTTP/1.1 %d %s\r\n", res.StatusCode, http.StatusText(res.StatusCode))
		res.Header.Set("Content-Length", fmt.Sprint(rec.Body.Len()))
		res.Header.Write(pw)
		io.WriteString(pw, "\r\n")
		pw.Write(rec.Body.Bytes())
	}
	mw.Close()
	w.Header().Set("Content-Type", "multipart/mixed; boundary="+mw.Boundary())
	w.Write(out.Bytes())
}
