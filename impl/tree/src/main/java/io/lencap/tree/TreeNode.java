package io.lencap.tree;

/**
 * One object of a tree as a listing shows it.
 *
 * @param path its path below the root, in stored form ({@link StoredNames})
 * @param name its name's exact bytes
 * @param attrs its attributes
 * @param handle what names it for {@link TreeFiles}
 */
public record TreeNode<H>(String path, byte[] name, FileAttrs attrs, H handle) {}
