import Foundation

/// Free space where `data_dir` lives against `min_free_disk_mb`: below it the gateway answers
/// every modality A700 (out of resources), so that is a failure; less than twice the floor is
/// a warning (a few days of images may be all that is left).
public enum DiskSpaceCheck {
    public static func run(_ configuration: GatewayConfiguration) -> SelftestResult {
        // The data folder may not exist yet: measure the nearest folder that does.
        var url = configuration.dataDirectory
        while !FileManager.default.fileExists(atPath: url.path), url.path != "/" { url = url.deletingLastPathComponent() }
        guard let free = DurableFile.freeBytes(at: url) else {
            return SelftestResult(.fail, "disk", "cannot read the free space of \(url.path); check that the disk is mounted")
        }
        let floor = configuration.minFreeDiskBytes
        let freeMB = free / 1_048_576, floorMB = floor / 1_048_576
        if free < floor {
            return SelftestResult(.fail, "disk", "\(freeMB) MB free on \(url.path), below min_free_disk_mb \(floorMB): "
                + "every image would be refused (A700); free space or lower [gateway] min_free_disk_mb")
        }
        if free < floor.saturatingDouble {
            return SelftestResult(.warn, "disk", "\(freeMB) MB free on \(url.path), less than twice min_free_disk_mb \(floorMB); "
                + "free space before images are refused")
        }
        return SelftestResult(.ok, "disk", "\(freeMB) MB free on \(url.path) (images refused below \(floorMB) MB)")
    }
}

private extension UInt64 {
    var saturatingDouble: UInt64 { self > UInt64.max / 2 ? UInt64.max : self * 2 }
}
