package sessionapp;

import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;

import jakarta.servlet.http.HttpSession;

/**
 * The CSRF token as Spring Security keeps it: a secret in the session
 * (HttpSessionCsrfTokenRepository), published masked and differently on
 * every render (XorCsrfTokenRequestAttributeHandler: base64url(r || r XOR
 * secret) for fresh random r), so a client must read it from each page.
 */
final class Csrf {
    static final String ATTR = "sessionapp.csrf";
    private static final SecureRandom RANDOM = new SecureRandom();

    private Csrf() {
    }

    /** Returns a fresh masked token for the session's secret, making the secret if needed. */
    static String masked(HttpSession s) {
        byte[] secret = (byte[]) s.getAttribute(ATTR);
        if (secret == null) {
            secret = renew(s);
        }
        byte[] b = new byte[2 * secret.length];
        byte[] r = new byte[secret.length];
        RANDOM.nextBytes(r);
        for (int i = 0; i < secret.length; i++) {
            b[i] = r[i];
            b[secret.length + i] = (byte) (r[i] ^ secret[i]);
        }
        return Base64.getUrlEncoder().encodeToString(b);
    }

    /** Replaces the session's secret, as Spring does on login. */
    static byte[] renew(HttpSession s) {
        byte[] secret = new byte[16];
        RANDOM.nextBytes(secret);
        s.setAttribute(ATTR, secret);
        return secret;
    }

    /** Reports whether token is a masked form of the session's secret. */
    static boolean valid(HttpSession s, String token) {
        byte[] secret = s == null ? null : (byte[]) s.getAttribute(ATTR);
        if (secret == null || token == null) {
            return false;
        }
        byte[] b;
        try {
            b = Base64.getUrlDecoder().decode(token);
        } catch (IllegalArgumentException e) {
            return false;
        }
        if (b.length != 2 * secret.length) {
            return false;
        }
        byte[] got = new byte[secret.length];
        for (int i = 0; i < secret.length; i++) {
            got[i] = (byte) (b[i] ^ b[secret.length + i]);
        }
        return MessageDigest.isEqual(got, secret);
    }
}
