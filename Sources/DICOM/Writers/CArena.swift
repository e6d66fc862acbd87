import Foundation
import CDCMTK

/// Keeps the C copies of Swift strings and arrays alive while a writer call runs.
final class CArena {
    private var frees: [() -> Void] = []
    deinit { frees.forEach { $0() } }

    func str(_ s: String?) -> UnsafePointer<CChar>? {
        guard let s else { return nil }
        guard let p = strdup(s) else { return nil }
        frees.append { free(p) }
        return UnsafePointer(p)
    }

    /// Uninitialised room for `count` trivial values (bytes, numbers), freed with the arena.
    func buffer<T: BitwiseCopyable>(_: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        let p = UnsafeMutablePointer<T>.allocate(capacity: max(count, 1))
        frees.append { p.deallocate() }
        return p
    }

    func array<T>(_ a: [T]) -> UnsafePointer<T>? {
        if a.isEmpty { return nil }
        let p = UnsafeMutablePointer<T>.allocate(capacity: a.count)
        p.initialize(from: a, count: a.count)
        frees.append { p.deinitialize(count: a.count); p.deallocate() }
        return UnsafePointer(p)
    }

    func code(_ c: CodedConcept?) -> wc_code {
        guard let c else { return wc_code(value: nil, scheme: nil, meaning: nil) }
        return wc_code(value: str(c.value), scheme: str(c.scheme), meaning: str(c.meaning))
    }

    func ids(_ id: DerivedIdentity, _ eq: DerivedEquipment, laterality: String?) -> wc_derived_ids {
        var d = wc_derived_ids()
        d.series_instance_uid = str(id.seriesInstanceUID)
        d.sop_instance_uid = str(id.sopInstanceUID)
        d.series_description = str(String(id.seriesDescription.prefix(64)))
        d.series_number = str(String(id.seriesNumber))
        d.instance_number = str(String(id.instanceNumber))
        d.content_date = str(id.dicomDate)
        d.content_time = str(id.dicomTime)
        d.manufacturer = str(eq.manufacturer)
        d.model_name = str(eq.modelName)
        d.device_serial_number = str(eq.deviceSerialNumber)
        d.software_versions = str(eq.softwareVersions)
        d.laterality = str(laterality)
        return d
    }
}

/// Calls a C writer with an error buffer; throws its message.
func callWriter(_ body: (UnsafeMutablePointer<CChar>, Int) -> Int32) throws {
    var err = [CChar](repeating: 0, count: 2048)
    let rc = err.withUnsafeMutableBufferPointer { body($0.baseAddress!, $0.count) }
    if rc != 0 {
        let message = err.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        throw DerivedObjectError.toolkit(message)
    }
}

/// Calls a C writer that encodes into memory and takes ownership of its bytes.
func encodeWithWriter(_ body: (UnsafeMutablePointer<wc_bytes>, UnsafeMutablePointer<CChar>, Int) -> Int32) throws -> Data {
    var bytes = wc_bytes(data: nil, length: 0)
    do {
        try callWriter { body(&bytes, $0, $1) }
    } catch {
        wc_bytes_free(&bytes)
        throw error
    }
    guard let data = bytes.data, bytes.length > 0 else {
        wc_bytes_free(&bytes)
        throw DerivedObjectError.toolkit("the writer returned no bytes")
    }
    return Data(bytesNoCopy: data, count: bytes.length, deallocator: .free)
}
