/** The sign-in form: an admin token, the read-only token, or one of a tenant's keys. */
import { Csrf } from "../components";

export function SignInForm({ csrf, error }: { csrf: string; error: string | null }) {
  return (
    <form method="post" action="/console/sign-in" class="sign-in" id="sign-in-form">
      <Csrf token={csrf} />
      <p>Operators sign in with the admin token or the read-only token; tenants with one of their API keys. The console keeps a signed session, never the token.</p>
      <p class="notice error" id="insecure" hidden>
        This page is not served over HTTPS, so the browser will not keep the console's session cookie (it is Secure). Open the console over HTTPS, or from this machine at localhost.
      </p>
      {error && (
        <p class="notice error" role="alert" id="sign-in-error">
          {error}
        </p>
      )}
      <label>
        Token or key
        <input type="password" name="token" id="token" autocomplete="current-password" required maxlength={512} autofocus />
      </label>
      <button type="submit" id="sign-in">
        Sign in
      </button>
    </form>
  );
}
