package sessionapp;

import java.io.IOException;

import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpSession;

/**
 * /login like Spring Security's form login: GET renders the form with a
 * hidden _csrf (creating the session that holds the token, which is the
 * request Tomcat's session cap refuses); POST checks the token and the
 * credentials, changes the session id and redirects to / or /login?error.
 */
public final class LoginServlet extends HttpServlet {
    private static final long serialVersionUID = 1L;

    @Override
    protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        // getSession(true) throws TooManyActiveSessionsException at the cap:
        // Tomcat answers 500 "Too many active sessions", as under Spring.
        HttpSession s = req.getSession(true);
        String ctx = req.getContextPath();
        StringBuilder b = new StringBuilder(1200);
        b.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
                .append("<meta name=\"_csrf_header\" content=\"X-CSRF-TOKEN\"/>\n")
                .append("<meta name=\"_csrf\" content=\"").append(Csrf.masked(s)).append("\"/>\n")
                .append("<title>Please sign in</title>\n</head>\n<body>\n")
                .append("<form class=\"login-form\" method=\"post\" action=\"").append(ctx).append("/login\">\n")
                .append("<h2>Please sign in</h2>\n");
        if (req.getParameter("error") != null) {
            b.append("<div class=\"alert alert-danger\" role=\"alert\">Bad credentials</div>\n");
        }
        if (req.getParameter("logout") != null) {
            b.append("<div class=\"alert alert-success\" role=\"alert\">You have been signed out</div>\n");
        }
        b.append("<input type=\"hidden\" value=\"en\" name=\"_locale\"/>\n")
                .append("<p><input type=\"text\" id=\"username\" name=\"username\" required autofocus></p>\n")
                .append("<p><input type=\"password\" id=\"password\" name=\"password\" required></p>\n")
                .append("<input name=\"_csrf\" type=\"hidden\" value=\"").append(Csrf.masked(s)).append("\"/>\n")
                .append("<button type=\"submit\">Sign in</button>\n</form>\n</body>\n</html>\n");
        Pages.noStore(resp);
        resp.setContentType("text/html;charset=UTF-8");
        resp.getWriter().write(b.toString());
    }

    @Override
    protected void doPost(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        HttpSession s = req.getSession(false);
        String token = req.getParameter("_csrf");
        if (token == null) {
            token = req.getHeader("X-CSRF-TOKEN");
        }
        // No session means no expected token: Spring answers 403 too.
        if (!Csrf.valid(s, token)) {
            resp.sendError(HttpServletResponse.SC_FORBIDDEN, "Invalid CSRF Token");
            return;
        }
        String user = req.getParameter("username");
        if (!Users.of(getServletContext()).check(user, req.getParameter("password"))) {
            resp.sendRedirect(req.getContextPath() + "/login?error");
            return;
        }
        // Session fixation protection (Spring's default changeSessionId):
        // the same session, a new id; then a new CSRF secret.
        req.changeSessionId();
        s.setAttribute(Pages.USER, user);
        s.setAttribute(Pages.CART, new Cart());
        Csrf.renew(s);
        resp.sendRedirect(req.getContextPath() + "/");
    }
}
