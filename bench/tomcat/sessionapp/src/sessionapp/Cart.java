package sessionapp;

import java.io.Serializable;

/** A session's cart: the items added, numbered from 1; the last KEEP are kept. */
final class Cart implements Serializable {
    private static final long serialVersionUID = 1L;
    static final int KEEP = 16;

    private long n;
    private final long[] items = new long[KEEP];

    /** Adds item and returns its number. */
    synchronized long add(long item) {
        n++;
        items[(int) ((n - 1) % KEEP)] = item;
        return n;
    }

    /** Returns entry k's item, or null when k is not one of the last KEEP. */
    synchronized Long get(long k) {
        if (k < 1 || k > n || k <= n - KEEP) {
            return null;
        }
        return items[(int) ((k - 1) % KEEP)];
    }
}
