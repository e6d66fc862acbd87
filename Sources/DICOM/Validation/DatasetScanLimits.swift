/// Bounds on what `DatasetScanner` lets through to DCMTK, whose parser recurses once per nested
/// sequence and allocates an object per element.
public struct DatasetScanLimits: Sendable, Equatable {
    /// Sequences open at once (an element at the top level is at depth 0; inside an item of a
    /// top-level sequence at depth 1; an encapsulated Pixel Data counts as one level).
    /// 16: ultrasound images nest 2 levels (Ultrasound Regions, Icon Image), vendors' private
    /// sequences and SR-like acquisition context 4 to 6; 16 leaves room for any real image while
    /// keeping DCMTK's recursion (a few hundred bytes of stack per level) nowhere near a
    /// worker thread's stack, which 50,000 levels overflowed.
    public var maxDepth: Int
    /// Elements, items and pixel fragments together, meta header included. 50,000: a US image
    /// has 100 to 300, long private headers and a 120-frame cine loop's fragments a few
    /// thousand; DCMTK's objects for 50,000 cost about 10 MB and a few ms to parse.
    public var maxElements: Int
    /// Largest inflated size of a Deflated Explicit VR Little Endian dataset (a deflate bomb
    /// stops here). 1 GiB: above the largest native image the default size ceiling admits.
    public var maxInflatedBytes: Int

    public init(maxDepth: Int = 16, maxElements: Int = 50_000, maxInflatedBytes: Int = 1 << 30) {
        self.maxDepth = maxDepth
        self.maxElements = maxElements
        self.maxInflatedBytes = maxInflatedBytes
    }

    public static let `default` = DatasetScanLimits()
}
