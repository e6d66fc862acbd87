import Foundation

/// Gateways before `DataDirectory` kept job `n`'s objects in `outbox/<n>/`, the folder a folder
/// destination named `n` would also use. At start their objects move to `outbox/jobs/<n>/`
/// (the ledger's migration renames their paths to match), each file by one rename, so a stop
/// midway leaves every file in one place or the other and the next start finishes the move.
/// Only top-level files move: a folder destination writes into `<study>/<image>/` subfolders
/// only, so its files stay where they are even when its folder is `outbox/<n>/`.
enum LegacyOutboxLayout {
    /// Moves what it finds; returns how many files moved. Folders left empty go, unless a
    /// destination writes there.
    @discardableResult
    static func migrate(_ data: DataDirectory, destinationFolders: [URL]) throws -> Int {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: data.outbox.path) else { return 0 }
        let kept = Set(destinationFolders.map { $0.standardizedFileURL.path })
        var moved = 0
        for name in names where !name.isEmpty && name.allSatisfy(\.isASCIIDigit) {
            guard let job = Int64(name) else { continue }
            let old = data.outbox.appendingPathComponent(name)
            let new = data.jobFolder(job)
            var movedHere = 0
            for file in try fm.contentsOfDirectory(atPath: old.path) {
                var isFolder: ObjCBool = false
                let from = old.appendingPathComponent(file)
                guard fm.fileExists(atPath: from.path, isDirectory: &isFolder), !isFolder.boolValue else { continue }
                try DurableFile.makeDirectory(new)
                try DurableFile.rename(from.path, to: new.appendingPathComponent(file).path)
                movedHere += 1
            }
            // Objects kept for good (no destination) were durable where they were; so they are here.
            if movedHere > 0 {
                try DurableFile.fsync(path: new.path)
                try DurableFile.fsync(path: old.path)
                moved += movedHere
            }
            if !kept.contains(old.standardizedFileURL.path), (try? fm.contentsOfDirectory(atPath: old.path))?.isEmpty == true {
                try? fm.removeItem(at: old)
            }
        }
        return moved
    }
}

private extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
