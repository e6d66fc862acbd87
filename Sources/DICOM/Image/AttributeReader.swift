import CDCMTK
import Foundation

/// Typed reads through the shim's attribute accessors (top level or a sequence item).
struct AttributeReader {
    let handle: OpaquePointer
    var sequence: UInt32 = 0
    var item: UInt32 = 0

    /// The whole value (values joined by "\"), trailing padding removed; nil when absent.
    func string(_ tag: UInt32) -> String? {
        let n = wc_image_string(handle, sequence, item, tag, nil, 0)
        guard n >= 0 else { return nil }
        var buf = [CChar](repeating: 0, count: n + 1)
        _ = wc_image_string(handle, sequence, item, tag, &buf, buf.count)
        return String(cString: buf).trimmingCharacters(in: .whitespaces)
    }

    func strings(_ tag: UInt32) -> [String] {
        guard let s = string(tag), !s.isEmpty else { return [] }
        return s.split(separator: "\\", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
    }

    func number(_ tag: UInt32, index: UInt32 = 0) -> Double? {
        var v = 0.0
        return wc_image_number(handle, sequence, item, tag, index, &v) == 0 ? v : nil
    }

    func numbers(_ tag: UInt32) -> [Double] {
        var out: [Double] = []
        while let v = number(tag, index: UInt32(out.count)) { out.append(v) }
        return out
    }

    func itemCount(_ tag: UInt32) -> Int? {
        let n = wc_image_item_count(handle, tag)
        return n >= 0 ? n : nil
    }

    /// Items of the Sequence of Ultrasound Regions; items lacking a required value are skipped
    /// (they cannot be used for measurement anyway).
    func ultrasoundRegions() -> [UltrasoundRegion] {
        let count = itemCount(ImageTag.sequenceOfUltrasoundRegions) ?? 0
        return (0..<count).compactMap { i in
            let r = AttributeReader(handle: handle, sequence: ImageTag.sequenceOfUltrasoundRegions, item: UInt32(i))
            guard let format = r.number(ImageTag.regionSpatialFormat),
                  let type = r.number(ImageTag.regionDataType),
                  let x0 = r.number(ImageTag.regionLocationMinX0), let y0 = r.number(ImageTag.regionLocationMinY0),
                  let x1 = r.number(ImageTag.regionLocationMaxX1), let y1 = r.number(ImageTag.regionLocationMaxY1)
            else { return nil }
            return UltrasoundRegion(
                spatialFormat: Int(format), dataType: Int(type),
                flags: UInt32(r.number(ImageTag.regionFlags) ?? 0),
                minX0: Int(x0), minY0: Int(y0), maxX1: Int(x1), maxY1: Int(y1),
                physicalUnitsX: Int(r.number(ImageTag.physicalUnitsXDirection) ?? 0),
                physicalUnitsY: Int(r.number(ImageTag.physicalUnitsYDirection) ?? 0),
                physicalDeltaX: r.number(ImageTag.physicalDeltaX) ?? 0,
                physicalDeltaY: r.number(ImageTag.physicalDeltaY) ?? 0, itemNumber: i + 1)
        }
    }
}
