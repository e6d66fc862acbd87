import Foundation

/// `data_dir`: it exists (or can be made), the gateway can write in it, and it is private (it
/// holds patient data). Made by `wecare serve` on first start, so its absence is only a warning
/// when its parent is writable.
public enum DataDirectoryCheck {
    public static func run(_ configuration: GatewayConfiguration) -> SelftestResult {
        let dir = configuration.dataDirectory
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDirectory) else {
            let parent = dir.deletingLastPathComponent().path
            if FileManager.default.isWritableFile(atPath: parent) {
                return SelftestResult(.warn, "data_dir", "\(dir.path) does not exist yet; `wecare serve` creates it on first start")
            }
            return SelftestResult(.fail, "data_dir", "\(dir.path) does not exist and \(parent) is not writable; "
                + "create it for the gateway's account (mkdir -m 700) or change [gateway] data_dir")
        }
        guard isDirectory.boolValue else {
            return SelftestResult(.fail, "data_dir", "\(dir.path) is a file, not a folder; change [gateway] data_dir")
        }
        // A real write, not an access() answer: read-only mounts and full quotas show up here.
        let probe = dir.appendingPathComponent(".wecare-selftest-\(ProcessInfo.processInfo.processIdentifier)")
        do {
            try Data("selftest\n".utf8).write(to: probe)
            try FileManager.default.removeItem(at: probe)
        } catch {
            try? FileManager.default.removeItem(at: probe)
            return SelftestResult(.fail, "data_dir", "cannot write in \(dir.path) (\(error.localizedDescription)); "
                + "give the gateway's account write access (chown) or change [gateway] data_dir")
        }
        let warnings = PrivateFiles.warnings(dataDirectory: dir)
        if let first = warnings.first {
            return SelftestResult(.warn, "data_dir", first + (warnings.count > 1 ? " (and \(warnings.count - 1) more)" : ""))
        }
        return SelftestResult(.ok, "data_dir", "\(dir.path) is writable and private")
    }
}
