// Tells a handshake thread the moment DCMTK has accepted its connection (not part of the C API).
//
// ASC_receiveAssociation does accept(), the TLS handshake and the A-ASSOCIATE-RQ read in one call.
// The only point in between where our code runs is the transport layer's createConnection(): DCMTK
// 3.6.7 calls it on the accepting thread right after accept() and the socket options, before the
// TLS handshake (dul.cc, receiveTransportConnectionTCP). There the socket and so the peer are known,
// a deadline can be armed, and the listener can go back to waiting for the next connection.
#ifndef WECARE_NET_ACCEPT_WATCH_HPP
#define WECARE_NET_ACCEPT_WATCH_HPP
#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmnet/dcmlayer.h"
#include "dcmtk/dcmnet/dcmtrans.h"
#include <utility>

namespace wecare_net {

// What the handshake running on this thread wants to hear about.
class AcceptObserver {
public:
    virtual void accepted(DcmNativeSocketType socket) = 0;

protected:
    ~AcceptObserver() = default;
};

// The observer of the handshake on this thread; nullptr on every other thread.
inline thread_local AcceptObserver *t_acceptObserver = nullptr;

// A DCMTK transport layer (plain DcmTransportLayer or DcmTLSTransportLayer) that reports each
// accepted socket to the current thread's observer and otherwise behaves as Layer.
template <class Layer>
class AcceptWatchingLayer : public Layer {
public:
    template <class... Arguments>
    explicit AcceptWatchingLayer(Arguments &&...arguments) : Layer(std::forward<Arguments>(arguments)...) {}

    DcmTransportConnection *createConnection(DcmNativeSocketType openSocket, OFBool useSecureLayer) override {
        if (AcceptObserver *observer = t_acceptObserver) observer->accepted(openSocket);
        return Layer::createConnection(openSocket, useSecureLayer);
    }
};

} // namespace wecare_net
#endif
