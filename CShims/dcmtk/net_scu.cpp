// Storage SCU and C-ECHO over plain ASC/DIMSE calls (DcmSCU hides the A-ASSOCIATE-RJ reason).
#include "net_internal.hpp"
#include "dcmtk/dcmnet/dimse.h"
#include "dcmtk/dcmnet/diutil.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcuid.h"
#include "dcmtk/dcmdata/dcxfer.h"
#include "dcmtk/dcmdata/dcistrmb.h"
#include "dcmtk/dcmdata/dcostrmb.h"
#include "dcmtk/ofstd/ofstd.h"
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

using namespace wecare_net;

namespace {

struct ProposedContext {
    std::string abstractSyntax;
    std::vector<std::string> transferSyntaxes;
};

// One association to a peer; releases (or aborts) and frees everything on destruction.
class Session {
public:
    ~Session() { close(false); }

    int open(const wc_peer &peer, const std::vector<ProposedContext> &contexts, wc_net_error *error) {
        ensureInitialized();
        if (peer.called_ae == nullptr || peer.calling_ae == nullptr || peer.host == nullptr || peer.port == 0) {
            setError(error, WC_NET_CONFIG, "called AE, calling AE, host and port are required");
            return WC_NET_CONFIG;
        }
        const size_t calledLength = std::strlen(peer.called_ae), callingLength = std::strlen(peer.calling_ae);
        if (calledLength == 0 || calledLength > 16 || callingLength == 0 || callingLength > 16) {
            setError(error, WC_NET_CONFIG, "AE titles must be 1 to 16 characters");
            return WC_NET_CONFIG;
        }
        timeout_ = peer.timeout_seconds > 0 ? peer.timeout_seconds : 30;
        // Connect timeout is a DCMTK process global; every SCU sets its own before connecting.
        dcmConnectionTimeout.set(OFstatic_cast(Sint32, timeout_));
        OFCondition cond = ASC_initializeNetwork(NET_REQUESTOR, 0, timeout_, &network_);
        if (cond.bad()) {
            setError(error, WC_NET_CONFIG, cond.text());
            return WC_NET_CONFIG;
        }
        if (peer.tls != nullptr) {
            tls_ = makeTLSLayer(*peer.tls, NET_REQUESTOR, error);
            if (!tls_) return WC_NET_TLS;
            cond = ASC_setTransportLayer(network_, tls_.get(), 0);
            if (cond.bad()) {
                setError(error, WC_NET_TLS, cond.text());
                return WC_NET_TLS;
            }
        }
        T_ASC_Parameters *params = nullptr;
        cond = ASC_createAssociationParameters(&params, ASC_DEFAULTMAXPDU);
        if (cond.bad()) {
            setError(error, WC_NET_CONFIG, cond.text());
            return WC_NET_CONFIG;
        }
        ASC_setAPTitles(params, peer.calling_ae, peer.called_ae, nullptr);
        ASC_setTransportLayerType(params, peer.tls != nullptr ? OFTrue : OFFalse);
        const std::string address = std::string(peer.host) + ":" + std::to_string(peer.port);
        ASC_setPresentationAddresses(params, OFStandard::getHostName().c_str(), address.c_str());
        T_ASC_PresentationContextID id = 1;
        for (const ProposedContext &pc : contexts) {
            std::vector<const char *> syntaxes;
            for (const std::string &ts : pc.transferSyntaxes) syntaxes.push_back(ts.c_str());
            cond = ASC_addPresentationContext(params, id, pc.abstractSyntax.c_str(), syntaxes.data(),
                                              OFstatic_cast(int, syntaxes.size()));
            if (cond.bad()) {
                ASC_destroyAssociationParameters(&params);
                setError(error, WC_NET_CONFIG, std::string("cannot propose a presentation context: ") + cond.text());
                return WC_NET_CONFIG;
            }
            id = OFstatic_cast(T_ASC_PresentationContextID, id + 2);
        }
        cond = ASC_requestAssociation(network_, params, &association_);
        if (cond.bad()) {
            if (cond == DUL_ASSOCIATIONREJECTED) {
                T_ASC_RejectParameters rej;
                ASC_getRejectParameters(params, &rej);
                OFString text;
                ASC_printRejectParameters(text, &rej);
                if (error != nullptr) {
                    error->result = OFstatic_cast(uint8_t, rej.result);
                    error->source = OFstatic_cast(uint8_t, rej.source);
                    error->reason = OFstatic_cast(uint8_t, rej.reason & 0xff);
                }
                setError(error, WC_NET_REJECTED, text.c_str());
                return WC_NET_REJECTED;
            }
            OFString text;
            DimseCondition::dump(text, cond);
            const bool tlsFailure = peer.tls != nullptr && text.find("TLS") != OFString_npos;
            const bool connectFailure = text.find("TCP Initialization Error") != OFString_npos;
            const int kind = tlsFailure ? WC_NET_TLS : connectFailure ? WC_NET_CONNECT_FAILED : WC_NET_ASSOCIATION;
            // A request that never reached the peer leaves params with us to free.
            if (association_ == nullptr) ASC_destroyAssociationParameters(&params);
            std::string flat(text.c_str());
            for (char &c : flat) if (c == '\n') c = ';';
            setError(error, kind, flat);
            return kind;
        }
        if (ASC_countAcceptedPresentationContexts(association_->params) == 0) {
            setError(error, WC_NET_NO_CONTEXT, "the peer accepted none of the proposed presentation contexts");
            return WC_NET_NO_CONTEXT;
        }
        return WC_NET_OK;
    }

    void close(bool abort) {
        if (association_ != nullptr) {
            if (abort || ASC_releaseAssociation(association_).bad()) ASC_abortAssociation(association_);
            ASC_dropSCPAssociation(association_);
            ASC_destroyAssociation(&association_);
        }
        if (network_ != nullptr) ASC_dropNetwork(&network_);
        tls_.reset();
    }

    T_ASC_Association *association() { return association_; }
    int timeout() const { return timeout_; }

private:
    T_ASC_Network *network_ = nullptr;
    T_ASC_Association *association_ = nullptr;
    std::unique_ptr<DcmTLSTransportLayer> tls_;
    int timeout_ = 30;
};

struct FileInfo {
    bool readable = false;
    std::string sopClass, sopInstance, transferSyntax;
};

// Where a Part 10 file's dataset starts: after the 128-byte preamble, "DICM" and the File Meta
// Information group, whose (0002,0000) UL element comes first and holds the group's length
// (meta is always explicit VR little endian). 0 when the bytes are not laid out so.
size_t datasetOffset(const Uint8 *bytes, size_t size) {
    static const unsigned char groupLength[8] = {0x02, 0x00, 0x00, 0x00, 'U', 'L', 0x04, 0x00};
    if (size < 144 || std::memcmp(bytes + 128, "DICM", 4) != 0 || std::memcmp(bytes + 132, groupLength, 8) != 0)
        return 0;
    const size_t length = size_t(bytes[140]) | size_t(bytes[141]) << 8 | size_t(bytes[142]) << 16 | size_t(bytes[143]) << 24;
    return 144 + length < size ? 144 + length : 0;
}

// A source's Part 10 object parsed by DCMTK: all of it, or up to stopAt (for its UIDs).
OFCondition load(const wc_store_source &source, DcmFileFormat &file, const DcmTagKey &stopAt = DCM_UndefinedTagKey) {
    if (source.bytes == nullptr) {
        if (source.file == nullptr) return EC_IllegalParameter;
        return file.loadFileUntilTag(source.file, EXS_Unknown, EGL_noChange, DCM_MaxReadLength, ERM_autoDetect, stopAt);
    }
    DcmInputBufferStream in;
    in.setBuffer(source.bytes, OFstatic_cast(offile_off_t, source.length));
    in.setEos();
    file.transferInit();
    OFCondition cond = file.readUntilTag(in, EXS_Unknown, EGL_noChange, DCM_MaxReadLength, stopAt);
    file.transferEnd();
    return cond;
}

FileInfo inspect(const wc_store_source &source) {
    FileInfo info;
    DcmFileFormat file;
    if (load(source, file, DcmTagKey(0x0008, 0x0019)).bad()) return info;
    DcmXfer xfer(file.getDataset()->getOriginalXfer());
    if (xfer.getXfer() == EXS_Unknown || !sopUIDs(*file.getDataset(), info.sopClass, info.sopInstance)) return info;
    info.readable = true;
    info.transferSyntax = xfer.getXferID();
    return info;
}

bool readFile(const char *path, std::vector<Uint8> &bytes) {
    FILE *f = std::fopen(path, "rb");
    if (f == nullptr) return false;
    bytes.clear();
    Uint8 chunk[65536];
    size_t n;
    while ((n = std::fread(chunk, 1, sizeof chunk, f)) > 0) bytes.insert(bytes.end(), chunk, chunk + n);
    const bool ok = std::ferror(f) == 0;
    std::fclose(f);
    return ok;
}

// A source's whole Part 10 bytes: in place when they are in memory, else read into storage.
bool bytesOf(const wc_store_source &source, std::vector<Uint8> &storage, const Uint8 *&bytes, size_t &length) {
    if (source.bytes != nullptr) {
        bytes = source.bytes;
        length = source.length;
        return true;
    }
    if (source.file == nullptr || !readFile(source.file, storage)) return false;
    bytes = storage.data();
    length = storage.size();
    return true;
}

OFCondition writePDV(T_ASC_Association *assoc, T_ASC_PresentationContextID presID, DUL_DATAPDV type,
                     const Uint8 *data, unsigned long length, bool last) {
    DUL_PDV pdv;
    pdv.fragmentLength = length;
    pdv.presentationContextID = presID;
    pdv.pdvType = type;
    pdv.lastPDV = last ? OFTrue : OFFalse;
    pdv.data = const_cast<Uint8 *>(data);
    DUL_PDVLIST list;
    list.count = 1;
    list.pdv = &pdv;
    return DUL_WritePDVs(&assoc->DULassociation, &list);
}

// C-STORE of a dataset already encoded in the accepted transfer syntax, as the file holds it:
// the command set (implicit VR little endian, with its group length, as DIMSE requires), then
// the file's dataset bytes in fragments the peer accepts, then the response. DCMTK's
// DIMSE_storeUser would parse the whole file and encode it again.
OFCondition storeEncoded(T_ASC_Association *assoc, T_ASC_PresentationContextID presID, const T_DIMSE_C_StoreRQ &request,
                         const Uint8 *dataset, size_t length, int timeout, T_DIMSE_C_StoreRSP &response) {
    DcmDataset command;
    command.putAndInsertString(DCM_AffectedSOPClassUID, request.AffectedSOPClassUID);
    command.putAndInsertUint16(DCM_CommandField, DIMSE_C_STORE_RQ);
    command.putAndInsertUint16(DCM_MessageID, request.MessageID);
    command.putAndInsertUint16(DCM_Priority, OFstatic_cast(Uint16, request.Priority));
    command.putAndInsertUint16(DCM_CommandDataSetType, DIMSE_DATASET_PRESENT); // not 0x0101: a dataset follows
    command.putAndInsertString(DCM_AffectedSOPInstanceUID, request.AffectedSOPInstanceUID);
    Uint8 commandBytes[1024];
    DcmOutputBufferStream out(commandBytes, sizeof commandBytes);
    command.transferInit();
    OFCondition cond = command.write(out, EXS_LittleEndianImplicit, EET_ExplicitLength, nullptr, EGL_withGL);
    command.transferEnd();
    if (cond.bad()) return cond;
    void *encoded = nullptr;
    offile_off_t encodedLength = 0;
    out.flushBuffer(encoded, encodedLength);
    cond = writePDV(assoc, presID, DUL_COMMANDPDV, OFstatic_cast(Uint8 *, encoded), OFstatic_cast(unsigned long, encodedLength), true);
    if (cond.bad()) return cond;

    unsigned long fragment = assoc->sendPDVLength;
    if (fragment + 12 > dcmMaxOutgoingPDUSize.get()) fragment = dcmMaxOutgoingPDUSize.get() - 12;
    if (fragment == 0) return DIMSE_SENDFAILED;
    size_t sent = 0;
    do {
        const unsigned long n = OFstatic_cast(unsigned long, std::min<size_t>(fragment, length - sent));
        cond = writePDV(assoc, presID, DUL_DATASETPDV, dataset + sent, n, sent + n == length);
        if (cond.bad()) return cond;
        sent += n;
    } while (sent < length);
    acknowledgePromptly(assoc);

    T_DIMSE_Message message;
    T_ASC_PresentationContextID responsePresID = 0;
    DcmDataset *detail = nullptr;
    cond = DIMSE_receiveCommand(assoc, DIMSE_NONBLOCKING, timeout, &responsePresID, &message, &detail);
    delete detail;
    if (cond.bad()) return cond;
    const OFCondition unexpected = makeOFCondition(OFM_dcmnet, DIMSEC_UNEXPECTEDRESPONSE, OF_error,
                                                   "the peer's answer is not this C-STORE's response");
    if (message.CommandField != DIMSE_C_STORE_RSP) return unexpected;
    response = message.msg.CStoreRSP;
    if (response.MessageIDBeingRespondedTo != request.MessageID) return unexpected;
    return EC_Normal;
}

// Called by DIMSE_storeUser as the dataset goes out; once it is sent, only the response is awaited.
void acknowledgeResponsePromptly(void *callbackData, T_DIMSE_StoreProgress *progress, T_DIMSE_C_StoreRQ *) {
    if (progress != nullptr && progress->state == DIMSE_StoreEnd)
        acknowledgePromptly(static_cast<T_ASC_Association *>(callbackData));
}

// The object parsed and encoded again by DCMTK: for files without a Part 10 group length, and
// when the peer accepted another transfer syntax than the file's (needs a registered codec).
// false, with r.error saying why, when nothing could be sent.
bool storeParsed(T_ASC_Association *assoc, T_ASC_PresentationContextID presID, const T_ASC_PresentationContext &pc,
                 const wc_store_source &source, T_DIMSE_C_StoreRQ &request, int timeout, T_DIMSE_C_StoreRSP &response,
                 wc_store_result &r, OFCondition &cond) {
    DcmFileFormat file;
    if (load(source, file).bad()) {
        copyString(r.error, sizeof r.error, "cannot read the object");
        return false;
    }
    DcmDataset *dataset = file.getDataset();
    DcmXfer accepted(pc.acceptedTransferSyntax);
    if (accepted.getXfer() != dataset->getOriginalXfer()) {
        if (dataset->chooseRepresentation(accepted.getXfer(), nullptr).bad() || !dataset->canWriteXfer(accepted.getXfer())) {
            std::string message = std::string("the peer accepts this SOP class only in ") + accepted.getXferName() +
                                  " and the file cannot be converted to it";
            copyString(r.error, sizeof r.error, message.c_str());
            return false;
        }
    }
    DcmDataset *detail = nullptr;
    cond = DIMSE_storeUser(assoc, presID, &request, nullptr, dataset, acknowledgeResponsePromptly, assoc,
                           DIMSE_NONBLOCKING, timeout, &response, &detail);
    delete detail;
    return true;
}

bool isUncompressedLE(const std::string &ts) {
    return ts == UID_LittleEndianExplicitTransferSyntax || ts == UID_LittleEndianImplicitTransferSyntax;
}

bool associationBroken(const OFCondition &cond) {
    return cond == DUL_PEERABORTEDASSOCIATION || cond == DUL_PEERREQUESTEDRELEASE || cond == DIMSE_NODATAAVAILABLE ||
           cond.code() == DULC_TCPIOERROR || cond == DIMSE_READPDVFAILED || cond == DIMSE_SENDFAILED;
}

} // namespace

extern "C" int wc_echo(const wc_peer *peer, uint16_t *status, wc_net_error *error) {
    Session session;
    std::vector<ProposedContext> contexts{
        {UID_VerificationSOPClass, {UID_LittleEndianExplicitTransferSyntax, UID_LittleEndianImplicitTransferSyntax}}};
    int kind = session.open(*peer, contexts, error);
    if (kind != WC_NET_OK) return kind;
    DIC_US rspStatus = 0;
    DcmDataset *detail = nullptr;
    OFCondition cond = DIMSE_echoUser(session.association(), session.association()->nextMsgID++, DIMSE_NONBLOCKING,
                                      session.timeout(), &rspStatus, &detail);
    delete detail;
    if (cond.bad()) {
        session.close(true);
        setError(error, WC_NET_ASSOCIATION, std::string("C-ECHO failed: ") + cond.text());
        return WC_NET_ASSOCIATION;
    }
    if (status != nullptr) *status = rspStatus;
    return WC_NET_OK;
}

struct wc_scu_association {
    Session session;
};

namespace {

// Whether this association serves every readable file as a new one proposed for them would:
// in the file's own transfer syntax, or, for an uncompressed file, uncompressed. A compressed
// file whose syntax was not accepted here gets a new association that proposes it, instead of
// being converted on this one. (DCMTK's lookup falls back to any accepted context of the SOP
// class, so the accepted syntax is compared here.)
bool acceptsAll(T_ASC_Association *assoc, const std::vector<FileInfo> &infos) {
    for (const FileInfo &info : infos) {
        if (!info.readable) continue;
        const T_ASC_PresentationContextID id =
            ASC_findAcceptedPresentationContextID(assoc, info.sopClass.c_str(), info.transferSyntax.c_str());
        T_ASC_PresentationContext pc;
        if (id == 0 || ASC_findAcceptedPresentationContext(assoc->params, id, &pc).bad()) return false;
        const std::string accepted = pc.acceptedTransferSyntax;
        if (accepted != info.transferSyntax && !(isUncompressedLE(info.transferSyntax) && isUncompressedLE(accepted)))
            return false;
    }
    return true;
}

// Per SOP class: its compressed transfer syntaxes, each proposed alone, then one uncompressed
// context as fallback; then the extra SOP classes, uncompressed.
std::vector<ProposedContext> proposal(const std::vector<FileInfo> &infos, const char *const *also, size_t alsoCount) {
    std::map<std::string, std::set<std::string>> wanted;
    for (const FileInfo &info : infos)
        if (info.readable) wanted[info.sopClass].insert(info.transferSyntax);
    for (size_t i = 0; i < alsoCount; ++i)
        if (also[i] != nullptr && also[i][0] != 0) wanted[also[i]];
    std::vector<ProposedContext> contexts;
    for (const auto &entry : wanted) {
        for (const std::string &ts : entry.second)
            if (!isUncompressedLE(ts)) contexts.push_back({entry.first, {ts}});
        contexts.push_back(
            {entry.first, {UID_LittleEndianExplicitTransferSyntax, UID_LittleEndianImplicitTransferSyntax}});
    }
    return contexts;
}

// C-STORE of every readable file, each result filled in. True when the association broke (it is
// then closed); `answered` counts the files the peer gave a status.
bool sendAll(Session &session, const wc_store_source *sources, const std::vector<FileInfo> &infos, wc_store_result *results,
             size_t &answered) {
    bool broken = false;
    for (size_t i = 0; i < infos.size(); ++i) {
        if (!infos[i].readable) continue;
        wc_store_result &r = results[i];
        if (broken) {
            copyString(r.error, sizeof r.error, "not sent: the association was aborted");
            continue;
        }
        const FileInfo &info = infos[i];
        T_ASC_Association *assoc = session.association();
        T_ASC_PresentationContextID presID =
            ASC_findAcceptedPresentationContextID(assoc, info.sopClass.c_str(), info.transferSyntax.c_str());
        if (presID == 0) presID = ASC_findAcceptedPresentationContextID(assoc, info.sopClass.c_str());
        if (presID == 0) {
            std::string message = "the peer accepted no presentation context for SOP class " + info.sopClass;
            copyString(r.error, sizeof r.error, message.c_str());
            continue;
        }
        T_ASC_PresentationContext pc;
        ASC_findAcceptedPresentationContext(assoc->params, presID, &pc);
        T_DIMSE_C_StoreRQ request{};
        T_DIMSE_C_StoreRSP response{};
        request.MessageID = assoc->nextMsgID++;
        OFStandard::strlcpy(request.AffectedSOPClassUID, info.sopClass.c_str(), sizeof request.AffectedSOPClassUID);
        OFStandard::strlcpy(request.AffectedSOPInstanceUID, info.sopInstance.c_str(),
                            sizeof request.AffectedSOPInstanceUID);
        request.DataSetType = DIMSE_DATASET_PRESENT;
        request.Priority = DIMSE_PRIORITY_MEDIUM;
        // When the peer accepted the object's own encoding, its dataset bytes go out as they are.
        OFCondition cond;
        std::vector<Uint8> storage;
        const Uint8 *bytes = nullptr;
        size_t length = 0, offset = 0;
        if (info.transferSyntax == pc.acceptedTransferSyntax && bytesOf(sources[i], storage, bytes, length))
            offset = datasetOffset(bytes, length);
        if (offset > 0) {
            cond = storeEncoded(assoc, presID, request, bytes + offset, length - offset, session.timeout(), response);
        } else if (!storeParsed(assoc, presID, pc, sources[i], request, session.timeout(), response, r, cond)) {
            continue;
        }
        if (cond.bad()) {
            std::string message = std::string("C-STORE failed: ") + cond.text();
            copyString(r.error, sizeof r.error, message.c_str());
            if (associationBroken(cond)) {
                broken = true;
                session.close(true);
            }
            continue;
        }
        r.has_status = 1;
        r.status = response.DimseStatus;
        answered++;
    }
    return broken;
}

} // namespace

extern "C" int wc_store(wc_scu_association **association, const wc_peer *peer, const wc_store_source *sources,
                        size_t count, const char *const *also_propose, size_t also_count,
                              wc_store_result *results, wc_net_error *error) {
    std::vector<FileInfo> infos(count);
    bool sendable = false;
    for (size_t i = 0; i < count; ++i) {
        wc_store_result &r = results[i];
        r = wc_store_result{};
        infos[i] = inspect(sources[i]);
        if (!infos[i].readable) {
            copyString(r.error, sizeof r.error, "not a readable DICOM object with SOP Class and Instance UID");
            continue;
        }
        copyString(r.sop_instance_uid, sizeof r.sop_instance_uid, infos[i].sopInstance.c_str());
        sendable = true;
    }
    if (!sendable) return WC_NET_OK; // every file carries its error; a kept association stays
    wc_scu_association *current = *association;
    *association = nullptr;
    // Data waiting on an idle association is the peer's release request, abort or closed socket.
    bool kept = current != nullptr && current->session.association() != nullptr &&
                !ASC_dataWaiting(current->session.association(), 0) && acceptsAll(current->session.association(), infos);
    if (!kept) {
        delete current;
        current = nullptr;
    }
    for (;;) {
        if (current == nullptr) {
            std::vector<ProposedContext> contexts = proposal(infos, also_propose, also_count);
            if (contexts.size() > 128) {
                setError(error, WC_NET_CONFIG, "too many SOP class / transfer syntax combinations for one association (max 128)");
                return WC_NET_CONFIG;
            }
            current = new wc_scu_association;
            const int kind = current->session.open(*peer, contexts, error);
            if (kind != WC_NET_OK && kind != WC_NET_NO_CONTEXT) {
                delete current;
                return kind;
            }
        }
        size_t answered = 0;
        if (!sendAll(current->session, sources, infos, results, answered)) break;
        delete current;
        current = nullptr;
        if (!kept || answered > 0) break;
        kept = false; // closed by the peer while idle: once more, on a new association
        for (size_t i = 0; i < count; ++i)
            if (infos[i].readable) results[i].error[0] = 0;
    }
    // An association that accepted nothing serves no later file either.
    if (current != nullptr && ASC_countAcceptedPresentationContexts(current->session.association()->params) == 0) {
        delete current;
        current = nullptr;
    }
    *association = current;
    return WC_NET_OK;
}

extern "C" void wc_scu_association_release(wc_scu_association *association) { delete association; }
