// Which cloud a construct models when neither it nor its network names one: said once, here.
import { CloudProfile } from './cloud-profile';

/** `profile`, else the library's default cloud, HFD NetLab (`CloudProfile.HFD_NETLAB`). */
export function profileOrDefault(profile: CloudProfile | undefined): CloudProfile {
  return profile ?? CloudProfile.HFD_NETLAB;
}
