package sessionapp;

import java.io.IOException;

import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpSession;

/** POST /logout invalidates the session and redirects to /login?logout, as Spring's LogoutFilter. */
public final class LogoutServlet extends HttpServlet {
    private static final long serialVersionUID = 1L;

    @Override
    protected void doPost(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        HttpSession s = req.getSession(false);
        if (s != null) {
            try {
                s.invalidate();
            } catch (IllegalStateException alreadyInvalid) {
                // a concurrent logout or expiry got there first
            }
        }
        resp.sendRedirect(req.getContextPath() + "/login?logout");
    }
}
