// Command pack writes the release archives that ./build release makes, and
// their SHA256SUMS file, so that two runs on the same inputs give the same
// bytes. It uses only archive/tar, archive/zip, compress/gzip and
// crypto/sha256, so the release needs no tool beyond the Go toolchain.
//
// Usage:
//
//	pack archive -o OUT -time UNIXSECONDS DIR
//	pack sums -o OUT FILE...
//
// pack archive puts DIR and everything below it into OUT, a .tar.gz or a
// .zip (chosen by OUT's name), with DIR's base name as the archive's top
// directory. Whatever the files look like on disk, the archive is the same:
//
//   - entries in the order filepath.WalkDir visits them (each directory's
//     names sorted, a directory before what it holds);
//   - every entry's time is -time (the commit time, for ./build); it must lie
//     between 1980 and 2107, the range a zip file can hold;
//   - modes are 0755 for directories and for files with any execute bit,
//     0644 for other files; owner and group are 0 with no names;
//   - the gzip header has no file name and no time; tar entries use the
//     ustar format, zip entries the deflate method at the best compression.
//
// Symbolic links and other special files are refused, and so is a file
// that changes size while it is read. The output is written to a temporary
// file beside OUT and renamed into place, so a failed run leaves no
// half-written archive.
//
// pack sums writes one line per FILE, "<sha256 in hex>  <base name>", sorted
// by name: the format that sha256sum -c and shasum -a 256 -c check.
//
// The compressed bytes depend on the Go version's compress/flate, as the
// binaries depend on its compiler: a release is reproduced with the Go
// version that `go version -m` reports for its binaries.
package main
