extension LesionMasks {
    /// The lesions of several parts of one image (a dual view's regions, each analysed on its
    /// own) as one set of masks: the mask is their union, lesions keep the parts' order (within a
    /// part, largest first) and are numbered on from one part to the next. Parts must share the
    /// image size; one part comes back as it is.
    public static func combining(_ parts: [LesionMasks]) throws -> LesionMasks {
        guard let first = parts.first else {
            throw AnalysisError.invalidSize(width: 0, height: 0, what: "LesionMasks.combining (no parts)")
        }
        if parts.count == 1 { return first }
        let w = first.mask.width, h = first.mask.height
        var bits = [UInt8](repeating: 0, count: w * h)
        var runs: [PixelRun] = []
        var lesions: [Lesion] = []
        for part in parts {
            guard part.mask.width == w, part.mask.height == h else {
                throw AnalysisError.sizeMismatch(expected: w * h, got: part.mask.width * part.mask.height,
                                                 what: "LesionMasks.combining (parts of different sizes)")
            }
            let offset = Int32(lesions.count)
            for i in bits.indices where part.mask.bits[i] != 0 { bits[i] = 1 }
            runs += part.runs.map { PixelRun(row: $0.row, start: $0.start, end: $0.end, label: $0.label + offset) }
            lesions += part.lesions.map { Lesion(label: $0.label + Int(offset), areaPixels: $0.areaPixels, boundingBox: $0.boundingBox) }
        }
        return LesionMasks(mask: Mask(validated: w, height: h, bits: bits), runs: runs, lesions: lesions)
    }
}
