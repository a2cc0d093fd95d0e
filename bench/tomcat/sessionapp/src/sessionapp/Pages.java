package sessionapp;

import java.io.IOException;

import jakarta.servlet.http.HttpServletResponse;

/** Session attribute names and response helpers shared by the servlets. */
final class Pages {
    /** The authenticated username; absent before login. */
    static final String USER = "sessionapp.user";
    /** The session's Cart. */
    static final String CART = "sessionapp.cart";

    private Pages() {
    }

    /** Adds the cache headers Spring Security puts on its pages. */
    static void noStore(HttpServletResponse resp) {
        resp.setHeader("Cache-Control", "no-cache, no-store, max-age=0, must-revalidate");
        resp.setHeader("Pragma", "no-cache");
        resp.setHeader("X-Content-Type-Options", "nosniff");
        resp.setHeader("X-Frame-Options", "DENY");
    }

    static void json(HttpServletResponse resp, int status, String body) throws IOException {
        resp.setStatus(status);
        resp.setContentType("application/json");
        resp.setCharacterEncoding("UTF-8");
        resp.getWriter().write(body);
    }

    /** Quotes s as a JSON string. */
    static String quote(String s) {
        StringBuilder b = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\') {
                b.append('\\').append(c);
            } else if (c < 0x20) {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.append('"').toString();
    }
}
