package io.lencap.nfs;

import com.emc.ecs.nfsclient.network.NetMgr;
import java.lang.reflect.Field;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;
import org.jboss.netty.channel.ChannelFactory;
import org.jboss.netty.channel.socket.nio.NioClientBossPool;
import org.jboss.netty.channel.socket.nio.NioClientSocketChannelFactory;
import org.jboss.netty.channel.socket.nio.NioWorkerPool;
import org.jboss.netty.util.HashedWheelTimer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * nfs-client's shared Netty 3 channel factory starts a non-daemon timer thread that keeps the JVM alive
 * after the embedding application is done, and its only release ({@code NetMgr.shutdown()}) disables the
 * client for the rest of the process. Before the first connection we swap in a factory built on daemon
 * threads. If the library's internals ever change, we log once and carry on with the default factory.
 */
final class NettyThreads {
  private static final Logger log = LoggerFactory.getLogger(NettyThreads.class);
  private static boolean done;

  private NettyThreads() {}

  static synchronized void useDaemonThreads() {
    if (done) {
      return;
    }
    done = true;
    try {
      for (String map : new String[] {"_connectionMap", "_privilegedConnectionMap"}) {
        Field f = NetMgr.class.getDeclaredField(map);
        f.setAccessible(true);
        if (!((java.util.Map<?, ?>) f.get(NetMgr.getInstance())).isEmpty()) {
          return; // someone in this JVM already uses the client: leave its factory alone
        }
      }
      Field field = NetMgr.class.getDeclaredField("_factory");
      field.setAccessible(true);
      ChannelFactory old = (ChannelFactory) field.get(NetMgr.getInstance());
      ExecutorService boss = Executors.newCachedThreadPool(daemon("lencap-nfs-boss"));
      ExecutorService workers = Executors.newCachedThreadPool(daemon("lencap-nfs-io"));
      ChannelFactory factory = new NioClientSocketChannelFactory(
          new NioClientBossPool(boss, 1, new HashedWheelTimer(daemon("lencap-nfs-timer")), null),
          new NioWorkerPool(workers, 2 * Runtime.getRuntime().availableProcessors()));
      field.set(NetMgr.getInstance(), factory);
      old.releaseExternalResources(); // unused so far: frees its idle pools
    } catch (ReflectiveOperationException | RuntimeException e) {
      log.warn("could not move nfs-client's Netty threads to daemon threads ({}); a JVM that returns from main "
          + "may need System.exit to end", e.toString());
    }
  }

  private static ThreadFactory daemon(String name) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, name + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }
}
