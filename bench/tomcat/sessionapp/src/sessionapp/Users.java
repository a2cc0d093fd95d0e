package sessionapp;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.security.MessageDigest;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;

import jakarta.servlet.ServletContext;
import jakarta.servlet.ServletContextEvent;
import jakarta.servlet.ServletContextListener;

/**
 * Loads the users file (a properties file, username=password) named by the
 * context parameter "usersFile" once at start-up, as Spring's
 * InMemoryUserDetailsManager holds its users.
 */
public final class Users implements ServletContextListener {
    private static final String ATTR = Users.class.getName();

    private final Map<String, byte[]> passwords = new HashMap<>();

    @Override
    public void contextInitialized(ServletContextEvent e) {
        ServletContext ctx = e.getServletContext();
        String file = ctx.getInitParameter("usersFile");
        if (file == null) {
            throw new IllegalStateException("sessionapp: context parameter usersFile is not set");
        }
        Properties p = new Properties();
        try (InputStream in = Files.newInputStream(Paths.get(file))) {
            p.load(in);
        } catch (IOException ex) {
            throw new IllegalStateException("sessionapp: cannot read users file " + file, ex);
        }
        for (String name : p.stringPropertyNames()) {
            passwords.put(name, p.getProperty(name).getBytes(StandardCharsets.UTF_8));
        }
        ctx.setAttribute(ATTR, this);
        ctx.log("sessionapp: " + passwords.size() + " users from " + file);
    }

    @Override
    public void contextDestroyed(ServletContextEvent e) {
    }

    static Users of(ServletContext ctx) {
        return (Users) ctx.getAttribute(ATTR);
    }

    /** Reports whether the credentials match, in time independent of the password. */
    boolean check(String user, String password) {
        if (user == null || password == null) {
            return false;
        }
        byte[] want = passwords.get(user);
        byte[] got = password.getBytes(StandardCharsets.UTF_8);
        return want != null & MessageDigest.isEqual(want == null ? got : want, got);
    }
}
