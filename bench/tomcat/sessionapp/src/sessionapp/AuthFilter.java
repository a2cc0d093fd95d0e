package sessionapp;

import java.io.IOException;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpFilter;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpSession;

/**
 * Lets only authenticated sessions through, as Spring Security's filter
 * chain does before routing: a client that accepts JSON gets 401 JSON,
 * anyone else a redirect to the login page. It never creates a session.
 */
public final class AuthFilter extends HttpFilter {
    private static final long serialVersionUID = 1L;

    @Override
    protected void doFilter(HttpServletRequest req, HttpServletResponse resp, FilterChain chain)
            throws IOException, ServletException {
        HttpSession s = req.getSession(false);
        String user = null;
        if (s != null) {
            try {
                user = (String) s.getAttribute(Pages.USER);
            } catch (IllegalStateException invalidated) {
                // logged out or expired while this request came in
            }
        }
        if (user != null) {
            req.setAttribute(Pages.USER, user);
            chain.doFilter(req, resp);
            return;
        }
        String accept = req.getHeader("Accept");
        if (accept != null && accept.contains("application/json")) {
            Pages.json(resp, HttpServletResponse.SC_UNAUTHORIZED, "{\"error\":\"unauthenticated\"}");
            return;
        }
        resp.sendRedirect(req.getContextPath() + "/login");
    }
}
