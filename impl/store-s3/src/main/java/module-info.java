/** Lencap's S3 store backend ({@code s3://bucket/prefix} store URIs). Exports nothing; found through ServiceLoader. */
module io.lencap.s3 {
  requires io.lencap.spi;
  requires org.slf4j;
  requires software.amazon.awssdk.auth;
  requires software.amazon.awssdk.awscore;
  requires software.amazon.awssdk.core;
  requires software.amazon.awssdk.http;
  requires software.amazon.awssdk.http.nio.netty;
  requires software.amazon.awssdk.regions;
  requires software.amazon.awssdk.services.s3;
  requires software.amazon.awssdk.utils;
  requires io.netty.common;
  requires io.netty.transport;

  provides io.lencap.spi.BlobBackendProvider with io.lencap.s3.S3BackendProvider;
}
