package io.lencap.s3;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Fault injection between the backend and an S3 server: an HTTP proxy that can drop {@code If-None-Match}
 * from every request (the server then behaves like one without conditional create, as OpenStack Swift's
 * S3 layer does), or pass a conditional PUT on and answer the client 503 instead of the server's answer
 * (a lost response: the server stored the object, the client retries). The server behind must not
 * check signatures: forwarded requests carry another Host.
 */
final class FaultyS3Proxy implements AutoCloseable {
  /** Headers the JDK client sets itself. */
  private static final Set<String> RESTRICTED = Set.of("host", "content-length", "connection", "expect", "upgrade",
      "transfer-encoding");
  private final HttpServer server;
  private final HttpClient client = HttpClient.newHttpClient();
  private final String target;
  private volatile boolean dropConditions;
  private final AtomicBoolean loseNextConditionalPut = new AtomicBoolean();

  FaultyS3Proxy(String target) throws IOException {
    this.target = target;
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/", this::forward);
    server.start();
  }

  String endpoint() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  FaultyS3Proxy dropConditions() {
    dropConditions = true;
    return this;
  }

  void loseNextConditionalPutResponse() {
    loseNextConditionalPut.set(true);
  }

  private void forward(HttpExchange ex) throws IOException {
    try (ex) {
      byte[] body;
      try (InputStream in = ex.getRequestBody()) {
        body = in.readAllBytes();
      }
      HttpRequest.Builder req = HttpRequest.newBuilder(URI.create(target + ex.getRequestURI()))
          .method(ex.getRequestMethod(), body.length == 0 ? HttpRequest.BodyPublishers.noBody()
              : HttpRequest.BodyPublishers.ofByteArray(body));
      boolean conditional = false;
      for (Map.Entry<String, List<String>> h : ex.getRequestHeaders().entrySet()) {
        String name = h.getKey().toLowerCase(Locale.ROOT);
        conditional |= name.equals("if-none-match");
        if (!RESTRICTED.contains(name) && !(dropConditions && name.equals("if-none-match"))) {
          h.getValue().forEach(v -> req.header(h.getKey(), v));
        }
      }
      HttpResponse<byte[]> resp = client.send(req.build(), HttpResponse.BodyHandlers.ofByteArray());
      if (conditional && ex.getRequestMethod().equals("PUT") && loseNextConditionalPut.compareAndSet(true, false)) {
        byte[] slowDown = "<Error><Code>SlowDown</Code><Message>injected</Message></Error>"
            .getBytes(StandardCharsets.UTF_8);
        ex.sendResponseHeaders(503, slowDown.length);
        try (OutputStream os = ex.getResponseBody()) {
          os.write(slowDown);
        }
        return;
      }
      resp.headers().map().forEach((k, v) -> {
        if (!RESTRICTED.contains(k.toLowerCase(Locale.ROOT)) && !k.startsWith(":")) {
          ex.getResponseHeaders().put(k, v);
        }
      });
      byte[] out = resp.body();
      boolean noBody = ex.getRequestMethod().equals("HEAD") || out.length == 0;
      ex.sendResponseHeaders(resp.statusCode(), noBody ? -1 : out.length);
      if (!noBody) {
        try (OutputStream os = ex.getResponseBody()) {
          os.write(out);
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
