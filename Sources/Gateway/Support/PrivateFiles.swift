import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Patient data at rest is for the gateway's own account only: everything it creates is 0700
/// (folders) or 0600 (files), and a data folder that others can read is reported.
public enum PrivateFiles {
    /// Sets the process's umask so that files and folders it creates from now on are private.
    /// `wecare serve` calls it first thing; files SQLite and DCMTK create inherit it too.
    public static func restrictCreatedFiles() {
        umask(0o077)
    }

    /// Warnings for `data_dir` and what the gateway keeps in it when group or others may read
    /// them; empty when all is private or nothing exists yet.
    public static func warnings(dataDirectory: URL) -> [String] {
        return DataDirectory(dataDirectory).privateEntries.compactMap { url in
            var st = stat()
            guard stat(url.path, &st) == 0 else { return nil }
            let mode = st.st_mode & 0o777
            guard mode & 0o077 != 0 else { return nil }
            return "\(url.path) is readable by other accounts (mode \(String(mode, radix: 8))): it holds patient data; "
                + "run `chmod -R go-rwx \(dataDirectory.path)`"
        }
    }
}
