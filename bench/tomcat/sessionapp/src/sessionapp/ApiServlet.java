package sessionapp;

import java.io.IOException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpSession;

/**
 * The JSON API behind AuthFilter, like the demo target's: every answer
 * names the session's user. GET /api/me, GET /api/catalog, POST /api/cart
 * {"item":N}, GET /api/cart/cart-N.
 */
public final class ApiServlet extends HttpServlet {
    private static final long serialVersionUID = 1L;
    // Like Jackson, take the item as a JSON number or a numeric string.
    private static final Pattern ITEM = Pattern.compile("\"item\"\\s*:\\s*\"?(-?\\d{1,18})\"?");

    @Override
    protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        String user = (String) req.getAttribute(Pages.USER);
        String path = req.getPathInfo() == null ? "" : req.getPathInfo();
        if (path.equals("/me")) {
            Pages.json(resp, 200, "{\"user\":" + Pages.quote(user) + "}");
        } else if (path.equals("/work")) {
            // A service time: the request holds its thread for ?ms=N.
            long ms = bounded(req.getParameter("ms"), 0, 10_000);
            try {
                Thread.sleep(ms);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            Pages.json(resp, 200, "{\"user\":" + Pages.quote(user) + ",\"slept_ms\":" + ms + "}");
        } else if (path.equals("/hold")) {
            // Session state of a known size: ?kb=N keeps N KB in the
            // session (set once; later requests only read it).
            int kb = (int) bounded(req.getParameter("kb"), 0, 10_240);
            HttpSession s = req.getSession(false);
            byte[] held = null;
            try {
                held = s == null ? null : (byte[]) s.getAttribute(HOLD);
                if (s != null && (held == null || held.length != kb * 1024)) {
                    held = new byte[kb * 1024];
                    java.util.Arrays.fill(held, (byte) 1);
                    s.setAttribute(HOLD, held);
                }
            } catch (IllegalStateException invalidated) {
                held = null;
            }
            Pages.json(resp, 200, "{\"user\":" + Pages.quote(user) + ",\"held_kb\":" + (held == null ? 0 : held.length / 1024) + "}");
        } else if (path.equals("/catalog")) {
            Pages.json(resp, 200, "{\"user\":" + Pages.quote(user)
                    + ",\"items\":[{\"id\":1,\"name\":\"tea\"},{\"id\":2,\"name\":\"coffee\"},{\"id\":3,\"name\":\"cocoa\"}]}");
        } else if (path.startsWith("/cart/cart-")) {
            Cart cart = cart(req);
            Long item = null;
            long k = 0;
            try {
                k = Long.parseLong(path.substring("/cart/cart-".length()));
                item = cart == null ? null : cart.get(k);
            } catch (NumberFormatException e) {
                // not an entry id
            }
            if (item == null) {
                Pages.json(resp, 404, "{\"error\":\"not_found\"}");
                return;
            }
            Pages.json(resp, 200, entry(user, k, item));
        } else {
            Pages.json(resp, 404, "{\"error\":\"not_found\"}");
        }
    }

    @Override
    protected void doPost(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        String user = (String) req.getAttribute(Pages.USER);
        String path = req.getPathInfo() == null ? "" : req.getPathInfo();
        if (!path.equals("/cart")) {
            Pages.json(resp, 404, "{\"error\":\"not_found\"}");
            return;
        }
        StringBuilder body = new StringBuilder();
        char[] buf = new char[512];
        for (int n; (n = req.getReader().read(buf)) > 0 && body.length() < 4096;) {
            body.append(buf, 0, n);
        }
        Matcher m = ITEM.matcher(body);
        Cart cart = cart(req);
        if (!m.find() || cart == null) {
            Pages.json(resp, 400, "{\"error\":\"item must be an integer\"}");
            return;
        }
        long item = Long.parseLong(m.group(1));
        Pages.json(resp, 200, entry(user, cart.add(item), item));
    }

    private static final String HOLD = "sessionapp.hold";

    private static long bounded(String v, long lo, long hi) {
        try {
            return Math.max(lo, Math.min(hi, Long.parseLong(v == null ? "0" : v.trim())));
        } catch (NumberFormatException e) {
            return lo;
        }
    }

    private static Cart cart(HttpServletRequest req) {
        HttpSession s = req.getSession(false);
        try {
            return s == null ? null : (Cart) s.getAttribute(Pages.CART);
        } catch (IllegalStateException invalidated) {
            return null;
        }
    }

    private static String entry(String user, long k, long item) {
        return "{\"user\":" + Pages.quote(user) + ",\"id\":\"cart-" + k + "\",\"item\":" + item + "}";
    }
}
