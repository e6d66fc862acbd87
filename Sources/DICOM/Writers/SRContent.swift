import CDCMTK

/// A content item of an SR tree as WeCare builds it; flattened in pre-order for the C writer.
struct SRItem {
    enum Relationship: Int32 {
        case root = 0, contains, hasObsContext, hasConceptMod, hasProperties, inferredFrom, selectedFrom
    }
    enum Value {
        case container(template: String?)
        case text(String)
        case uidref(String)
        case code(CodedConcept)
        case num(String, unit: CodedConcept)
        case image(sopClassUID: String, sopInstanceUID: String, frames: [Int], segments: [Int])
        case scoordPolyline([PixelPoint])
        /// A person's name (PN), e.g. the Person Observer Name of TID 1003.
        case pname(String)
    }

    var relationship: Relationship
    var concept: CodedConcept?
    var value: Value
    var children: [SRItem] = []

    static func container(_ rel: Relationship, _ concept: CodedConcept, template: String? = nil,
                          _ children: [SRItem]) -> SRItem {
        SRItem(relationship: rel, concept: concept, value: .container(template: template), children: children)
    }

    /// Pre-order nodes for `wc_write_sr`; strings and arrays live in `arena`.
    func flatten(into nodes: inout [wc_sr_node], parent: Int32, arena: CArena) {
        var n = wc_sr_node()
        n.parent = parent
        n.relationship = relationship.rawValue
        n.concept = arena.code(concept)
        switch value {
        case .container(let template):
            n.value_type = Int32(WC_VT_CONTAINER)
            n.template_id = arena.str(template)
        case .text(let s):
            n.value_type = Int32(WC_VT_TEXT)
            n.text = arena.str(s)
        case .uidref(let s):
            n.value_type = Int32(WC_VT_UIDREF)
            n.text = arena.str(s)
        case .pname(let s):
            n.value_type = Int32(WC_VT_PNAME)
            n.text = arena.str(s)
        case .code(let c):
            n.value_type = Int32(WC_VT_CODE)
            n.code = arena.code(c)
        case .num(let v, let unit):
            n.value_type = Int32(WC_VT_NUM)
            n.text = arena.str(v)
            n.code = arena.code(unit)
        case .image(let cls, let inst, let frames, let segments):
            n.value_type = Int32(WC_VT_IMAGE)
            n.ref_sop_class_uid = arena.str(cls)
            n.ref_sop_instance_uid = arena.str(inst)
            n.ref_frames = arena.array(frames.map { Int32($0) })
            n.ref_frame_count = frames.count
            n.ref_segments = arena.array(segments.map { Int32($0) })
            n.ref_segment_count = segments.count
        case .scoordPolyline(let points):
            n.value_type = Int32(WC_VT_SCOORD)
            n.graphic_type = Int32(WC_GT_POLYLINE)
            n.graphic_data = arena.array(points.flatMap { [Float($0.x), Float($0.y)] })
            n.graphic_point_count = points.count
        }
        let index = Int32(nodes.count)
        nodes.append(n)
        for child in children { child.flatten(into: &nodes, parent: index, arena: arena) }
    }
}
