package sessionapp;

import java.io.IOException;

import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

/** The page a successful login redirects to (behind AuthFilter). */
public final class HomeServlet extends HttpServlet {
    private static final long serialVersionUID = 1L;

    @Override
    protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        String user = (String) req.getAttribute(Pages.USER);
        Pages.noStore(resp);
        resp.setContentType("text/html;charset=UTF-8");
        resp.getWriter().write("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Home</title></head>\n"
                + "<body><h1>Welcome " + user.replace("&", "&amp;").replace("<", "&lt;") + "</h1>\n"
                + "<form method=\"post\" action=\"" + req.getContextPath() + "/logout\"><button type=\"submit\">Sign out</button></form>\n"
                + "</body></html>\n");
    }
}
