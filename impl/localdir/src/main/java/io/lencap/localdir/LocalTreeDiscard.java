package io.lencap.localdir;

import io.lencap.api.InvalidSpecException;
import io.lencap.spi.Discarder;
import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Set;

/**
 * Deletes a tree a restore created (a drill's sandbox), its root included. Symlinks are deleted as links, never
 * followed; a restored directory without owner write permission is made writable first, so that a tree restored
 * with a read-only directory can still be removed.
 */
final class LocalTreeDiscard implements Discarder {
  private final Path root;

  LocalTreeDiscard(String member, Path root) {
    if (root.getNameCount() < 2) {
      throw new InvalidSpecException("resources[" + member + "].locator", root + " is too close to / to be a "
          + "restore's own directory; a sandbox lives at least two levels down");
    }
    this.root = root;
  }

  @Override
  public void discard() throws IOException {
    if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    Files.walkFileTree(root, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
        Set<PosixFilePermission> p = Files.getPosixFilePermissions(dir, LinkOption.NOFOLLOW_LINKS);
        if (!p.contains(PosixFilePermission.OWNER_WRITE) || !p.contains(PosixFilePermission.OWNER_EXECUTE)) {
          p.add(PosixFilePermission.OWNER_WRITE);
          p.add(PosixFilePermission.OWNER_READ);
          p.add(PosixFilePermission.OWNER_EXECUTE);
          Files.setPosixFilePermissions(dir, p);
        }
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
        Files.deleteIfExists(file);
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
        if (e instanceof NoSuchFileException) {
          return FileVisitResult.CONTINUE;
        }
        throw e;
      }

      @Override
      public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
        if (e != null) {
          throw e;
        }
        Files.deleteIfExists(dir);
        return FileVisitResult.CONTINUE;
      }
    });
  }
}
