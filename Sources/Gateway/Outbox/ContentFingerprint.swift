import Foundation

/// Size and a fast 64-bit hash of an outbox object, kept in the ledger beside its path. The
/// outbox is written without fsync (the durable spool can always make it again), so before a
/// delivery the file is checked against what analysis wrote; after a power cut one that lost
/// its data sends its job back to analysis instead of a truncated object to the PACS.
/// Not cryptographic: it guards against lost writes, not against tampering.
public struct ContentFingerprint: Sendable, Equatable, CustomStringConvertible {
    public var size: Int64
    public var hash: UInt64

    public init(size: Int64, hash: UInt64) {
        self.size = size
        self.hash = hash
    }

    public init(of data: Data) {
        self.init(size: Int64(data.count), hash: Self.hash(data))
    }

    public var description: String { "\(size) bytes, hash \(String(hash, radix: 16))" }

    /// Four independent multiply-rotate lanes over 32-byte blocks (about 10 µs for a 50 KB
    /// SEG), the tail byte by byte, then the lanes, length and tail folded together.
    static func hash(_ data: Data) -> UInt64 {
        let prime: UInt64 = 0x9E37_79B9_7F4A_7C15
        func mix(_ lane: UInt64, _ word: UInt64) -> UInt64 {
            let x = (lane ^ word) &* prime
            return (x << 31) | (x >> 33)
        }
        return data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> UInt64 in
            var a: UInt64 = 0x243F_6A88_85A3_08D3, b: UInt64 = 0x1319_8A2E_0370_7344
            var c: UInt64 = 0xA409_3822_299F_31D0, d: UInt64 = 0x082E_FA98_EC4E_6C89
            let blocks = raw.count / 32
            for i in 0..<blocks {
                let o = i * 32
                a = mix(a, UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt64.self)))
                b = mix(b, UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: o + 8, as: UInt64.self)))
                c = mix(c, UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: o + 16, as: UInt64.self)))
                d = mix(d, UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: o + 24, as: UInt64.self)))
            }
            var tail: UInt64 = 0xCBF2_9CE4_8422_2325
            for i in (blocks * 32)..<raw.count { tail = (tail ^ UInt64(raw[i])) &* 0x100_0000_01B3 }
            var h = mix(mix(mix(mix(UInt64(raw.count), a), b), c), d)
            h = mix(h, tail)
            h ^= h >> 29
            return h &* prime
        }
    }
}
