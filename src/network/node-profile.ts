import type { CloudProfile } from '../cloud/cloud-profile';
import { profileOrDefault } from '../cloud/default-profile';
import type { INetwork } from './gpu-network';

/** The node's cloud profile: its own, else its network's; the two must agree where both are known. */
export function nodeProfile(path: string, own: CloudProfile | undefined, network: INetwork): CloudProfile {
  const ofNetwork = network.cloudProfile;
  if (own && ofNetwork && own !== ofNetwork &&
    (own.name !== ofNetwork.name || own.externalNetworkName !== ofNetwork.externalNetworkName)) {
    throw new Error(`${path}: cloudProfile '${own.name}' differs from the profile of network '${network.networkName}' ` +
      `('${ofNetwork.name}'); give the node and its network the same CloudProfile, or leave the node's out to use the network's`);
  }
  return profileOrDefault(own ?? ofNetwork);
}
