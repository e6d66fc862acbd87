import Foundation

/// C strings that live until `deinit`: for filling C structs that point at several strings at once.
final class CStringArena {
    private var pointers: [UnsafeMutablePointer<CChar>] = []

    func make(_ string: String) -> UnsafePointer<CChar> {
        let pointer = strdup(string)!
        pointers.append(pointer)
        return UnsafePointer(pointer)
    }

    func makeOptional(_ string: String?) -> UnsafePointer<CChar>? {
        string.map { make($0) }
    }

    deinit { pointers.forEach { free($0) } }
}

extension String {
    /// A String from a fixed-size C char array inside an imported struct (a tuple).
    init<T>(fixedCString tuple: T) {
        self = withUnsafeBytes(of: tuple) { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            let end = bytes.firstIndex(of: 0) ?? bytes.count
            return String(decoding: bytes[..<end], as: UTF8.self)
        }
    }
}
